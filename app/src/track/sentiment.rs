//! A small sentiment score for notes, from a lexicon: the mean valence of the words a
//! note uses that the lexicon knows, from -1 (all very negative) to 1 (all very
//! positive); `None` when it knows none. A negation ("not", "never", "no", "…n't") one
//! or two words before a word turns its valence around. Deliberately small and predictable (English
//! only, about a hundred words common in self-tracking notes), so that a member can see
//! why a note scored as it did; Distill stores it beside the note.

/// Words and their valence, -3 to 3 (in the manner of AFINN).
const LEXICON: &[(&str, i8)] = &[
    ("amazing", 3),
    ("awesome", 3),
    ("excellent", 3),
    ("fantastic", 3),
    ("wonderful", 3),
    ("great", 3),
    ("love", 3),
    ("loved", 3),
    ("best", 3),
    ("perfect", 3),
    ("happy", 3),
    ("energized", 2),
    ("energetic", 2),
    ("good", 2),
    ("nice", 2),
    ("calm", 2),
    ("rested", 2),
    ("refreshed", 2),
    ("relaxed", 2),
    ("productive", 2),
    ("strong", 2),
    ("fresh", 2),
    ("glad", 2),
    ("fun", 2),
    ("enjoyed", 2),
    ("motivated", 2),
    ("focused", 2),
    ("better", 2),
    ("proud", 2),
    ("grateful", 2),
    ("peaceful", 2),
    ("well", 1),
    ("fine", 1),
    ("ok", 1),
    ("okay", 1),
    ("steady", 1),
    ("easy", 1),
    ("light", 1),
    ("improved", 2),
    ("cheerful", 2),
    ("bad", -2),
    ("tired", -2),
    ("exhausted", -3),
    ("sick", -2),
    ("ill", -2),
    ("sad", -2),
    ("stressed", -2),
    ("stress", -2),
    ("anxious", -2),
    ("anxiety", -2),
    ("angry", -3),
    ("awful", -3),
    ("terrible", -3),
    ("horrible", -3),
    ("worst", -3),
    ("pain", -2),
    ("painful", -2),
    ("headache", -2),
    ("migraine", -3),
    ("hangover", -2),
    ("hungover", -2),
    ("sore", -1),
    ("slow", -1),
    ("lazy", -1),
    ("bored", -1),
    ("boring", -1),
    ("groggy", -2),
    ("sleepy", -1),
    ("restless", -2),
    ("insomnia", -2),
    ("worried", -2),
    ("worse", -2),
    ("down", -1),
    ("low", -1),
    ("lonely", -2),
    ("upset", -2),
    ("frustrated", -2),
    ("overwhelmed", -2),
    ("drained", -2),
    ("nauseous", -2),
    ("cranky", -2),
    ("grumpy", -2),
    ("irritable", -2),
    ("foggy", -1),
    ("weak", -2),
    ("hurt", -2),
    ("injured", -2),
    ("depressed", -3),
    ("miserable", -3),
    ("hate", -3),
    ("unwell", -2),
    ("meh", -1),
];

const NEGATIONS: &[&str] = &["not", "no", "never", "hardly", "without"];

fn valence(word: &str) -> Option<i8> {
    LEXICON.iter().find(|(w, _)| *w == word).map(|(_, v)| *v)
}

/// The note's score in [-1, 1], or `None` when no word of it is in the lexicon.
pub fn score(note: &str) -> Option<f64> {
    let words: Vec<String> = note
        .split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect();
    let mut total = 0.0;
    let mut matched = 0u32;
    for (i, word) in words.iter().enumerate() {
        let Some(v) = valence(word.trim_matches('\'')) else {
            continue;
        };
        // A negation one or two words before ("not good", "didn't feel good").
        let negated = words[i.saturating_sub(2)..i]
            .iter()
            .any(|before| NEGATIONS.contains(&before.as_str()) || before.ends_with("n't"));
        total += if negated { -f64::from(v) } else { f64::from(v) };
        matched += 1;
    }
    (matched > 0).then(|| total / f64::from(matched) / 3.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_follow_the_words_and_turn_at_a_negation() {
        assert_eq!(score("Slept great, felt amazing"), Some(1.0));
        assert_eq!(score("tired and a headache"), Some(-2.0 / 3.0));
        assert_eq!(score("not tired at all"), Some(2.0 / 3.0));
        assert_eq!(score("didn't feel good"), Some(-2.0 / 3.0));
        assert_eq!(score("walked to the lake #hills"), None);
        assert_eq!(score(""), None);
    }

    #[test]
    fn the_lexicon_is_lower_case_and_has_no_word_twice() {
        let mut seen = std::collections::HashSet::new();
        for (word, v) in LEXICON {
            assert_eq!(*word, word.to_lowercase());
            assert!((-3..=3).contains(v));
            assert!(seen.insert(*word), "{word} twice");
        }
    }
}
