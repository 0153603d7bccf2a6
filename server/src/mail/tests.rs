#![allow(clippy::unwrap_used)]

use super::*;

fn facts() -> EventFacts {
    EventFacts {
        group_name: "Rust Berlin".to_owned(),
        title: "Async Night".to_owned(),
        when: "Tuesday, 26 February 2013, 6:30 PM – 8:30 PM PST".to_owned(),
        where_: "c-base, Rungestraße 20, Berlin".to_owned(),
        url: "https://cohort.example.org/g/rust-berlin/e/42".to_owned(),
    }
}

/// Every notice, each with what its bodies must mention besides the event facts.
fn all_notices() -> Vec<(Notice, Vec<&'static str>)> {
    vec![
        (
            Notice::RsvpConfirmed {
                answer: "yes".to_owned(),
                guests: 2,
            },
            vec!["You're going", "2 guests"],
        ),
        (
            Notice::RsvpConfirmed {
                answer: "yes".to_owned(),
                guests: 1,
            },
            vec!["You're going", "1 guest."],
        ),
        (
            Notice::RsvpConfirmed {
                answer: "maybe".to_owned(),
                guests: 0,
            },
            vec!["maybe"],
        ),
        (
            Notice::RsvpConfirmed {
                answer: "no".to_owned(),
                guests: 0,
            },
            vec!["not going"],
        ),
        (
            Notice::Waitlisted { position: 3 },
            vec!["number 3", "waitlist"],
        ),
        (Notice::Promoted, vec!["A seat opened up", "you're in"]),
        (
            Notice::Offered {
                expires: "Monday, 25 February, 6:30 PM PST".to_owned(),
            },
            vec!["Monday, 25 February, 6:30 PM PST", "Confirm your seat"],
        ),
        (
            Notice::Changed {
                changes: vec![
                    "Time: 6:00 PM → 6:30 PM".to_owned(),
                    "Venue: Mitte → c-base".to_owned(),
                ],
            },
            vec!["Time: 6:00 PM → 6:30 PM", "Venue: Mitte → c-base"],
        ),
        (
            Notice::Cancelled {
                reason: "The speaker is ill".to_owned(),
            },
            vec!["cancelled", "The speaker is ill"],
        ),
        (Notice::Reminder, vec!["tomorrow"]),
    ]
}

#[test]
fn every_notice_shows_the_facts_in_both_bodies() {
    let event = facts();
    for (notice, specifics) in all_notices() {
        let mail = render(&notice, "Ada Lovelace", &event).unwrap();
        assert!(
            mail.subject.ends_with(": Async Night"),
            "{notice:?}: {}",
            mail.subject
        );
        for (kind, body) in [("text", &mail.text), ("html", &mail.html)] {
            for expected in [
                "Ada Lovelace",
                "Async Night",
                "Rust Berlin",
                "Tuesday, 26 February 2013, 6:30 PM – 8:30 PM PST",
                "c-base, Rungestraße 20, Berlin",
                "https://cohort.example.org/g/rust-berlin/e/42",
                "You get this because you",
            ]
            .iter()
            .chain(&specifics)
            {
                // The HTML escapes the apostrophe; compare on the unescaped text.
                let body = body.replace("&#39;", "'");
                assert!(
                    body.contains(expected),
                    "{kind} body of {notice:?} lacks {expected:?}:\n{body}"
                );
            }
        }
        assert!(
            !mail.text.starts_with('\n') && !mail.text.contains("\n\n\n"),
            "stray blank lines in the text of {notice:?}:\n{}",
            mail.text
        );
        let why = mail.text.lines().last().unwrap();
        assert!(
            why.starts_with("You get this because you"),
            "{notice:?}: last line {why:?}"
        );
        assert!(
            why.ends_with("in Rust Berlin."),
            "{notice:?}: last line {why:?}"
        );
    }
}

#[test]
fn the_text_reads_well_in_a_plain_mail_client() {
    let notice = Notice::Changed {
        changes: vec!["Time: 6:00 PM → 6:30 PM".to_owned()],
    };
    let text = render(&notice, "Ada", &facts()).unwrap().text;
    assert_eq!(
        text,
        "Hi Ada,\n\
         \n\
         The organizers changed this event:\n\
         \x20 - Time: 6:00 PM → 6:30 PM\n\
         \n\
         Async Night\n\
         \x20 When:  Tuesday, 26 February 2013, 6:30 PM – 8:30 PM PST\n\
         \x20 Where: c-base, Rungestraße 20, Berlin\n\
         \x20 Group: Rust Berlin\n\
         \n\
         Event page: https://cohort.example.org/g/rust-berlin/e/42\n\
         \n\
         You get this because you RSVP'd to \"Async Night\" in Rust Berlin."
    );
}

#[test]
fn subjects_name_the_notice() {
    let event = facts();
    let subject = |notice: Notice| render(&notice, "Ada", &event).unwrap().subject;
    assert_eq!(
        subject(Notice::RsvpConfirmed {
            answer: "yes".to_owned(),
            guests: 0
        }),
        "You're going: Async Night"
    );
    assert_eq!(
        subject(Notice::Waitlisted { position: 4 }),
        "You're on the waitlist (#4): Async Night"
    );
    assert_eq!(
        subject(Notice::Promoted),
        "A seat opened up — you're in: Async Night"
    );
    assert_eq!(
        subject(Notice::Offered {
            expires: "Mon 6 PM".to_owned()
        }),
        "A seat is yours if you confirm by Mon 6 PM: Async Night"
    );
    assert_eq!(
        subject(Notice::Changed { changes: vec![] }),
        "Changed: Async Night"
    );
    assert_eq!(
        subject(Notice::Cancelled {
            reason: String::new()
        }),
        "Cancelled: Async Night"
    );
    assert_eq!(subject(Notice::Reminder), "Tomorrow: Async Night");
}

#[test]
fn the_footer_says_why_the_mail_came() {
    let event = facts();
    let last_line = |notice: Notice| {
        let text = render(&notice, "Ada", &event).unwrap().text;
        text.lines().last().unwrap().to_owned()
    };
    assert_eq!(
        last_line(Notice::Reminder),
        "You get this because you RSVP'd to \"Async Night\" in Rust Berlin."
    );
    assert_eq!(
        last_line(Notice::Waitlisted { position: 1 }),
        "You get this because you joined the waitlist for \"Async Night\" in Rust Berlin."
    );
}

#[test]
fn markup_is_escaped_in_html_but_verbatim_in_text() {
    let mut event = facts();
    event.title = "<script>alert('x')</script> & friends".to_owned();
    let notice = Notice::Cancelled {
        reason: "<b>rain</b>".to_owned(),
    };
    let mail = render(&notice, "<i>Eve</i>", &event).unwrap();

    assert!(mail.text.contains("<script>alert('x')</script> & friends"));
    assert!(mail.text.contains("<b>rain</b>"));
    assert!(mail.text.contains("<i>Eve</i>"));
    assert_eq!(
        mail.subject,
        "Cancelled: <script>alert('x')</script> & friends"
    );

    for raw in ["<script>", "<b>rain", "<i>Eve"] {
        assert!(
            !mail.html.contains(raw),
            "HTML contains raw {raw:?}:\n{}",
            mail.html
        );
    }
    assert!(mail.html.contains("&#60;script&#62;") || mail.html.contains("&lt;script&gt;"));
    assert!(mail.html.contains("&#38; friends") || mail.html.contains("&amp; friends"));
    assert!(mail.html.contains("rain"));
}

#[test]
fn optional_parts_are_left_out_when_empty() {
    let mut event = facts();
    event.where_ = String::new();
    let notice = Notice::Cancelled {
        reason: String::new(),
    };
    let mail = render(&notice, "", &event).unwrap();
    assert!(!mail.text.contains("Where"), "{}", mail.text);
    assert!(!mail.html.contains("Where"), "{}", mail.html);
    assert!(!mail.text.contains("The organizer said"), "{}", mail.text);
    assert!(mail.text.starts_with("Hi,\n"), "{}", mail.text);
}

#[test]
fn an_unknown_rsvp_answer_is_an_error() {
    let notice = Notice::RsvpConfirmed {
        answer: "perhaps".to_owned(),
        guests: 0,
    };
    let error = render(&notice, "Ada", &facts()).unwrap_err();
    assert!(error.to_string().contains("perhaps"), "{error}");
}

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cohort//EN\r\nMETHOD:PUBLISH\r\n\
    BEGIN:VEVENT\r\nUID:event-42@cohort.example.org\r\nDTSTAMP:20130220T120000Z\r\n\
    DTSTART:20130227T023000Z\r\nDTEND:20130227T043000Z\r\nSUMMARY:Async Night\r\n\
    END:VEVENT\r\nEND:VCALENDAR\r\n";

fn outgoing(ics: Option<&str>) -> Outgoing {
    let notice = Notice::RsvpConfirmed {
        answer: "yes".to_owned(),
        guests: 0,
    };
    Outgoing {
        to_name: "Ada Lovelace".to_owned(),
        to_address: "ada@example.org".to_owned(),
        rendered: render(&notice, "Ada Lovelace", &facts()).unwrap(),
        ics: ics.map(str::to_owned),
    }
}

/// Turns CRLF line ends into LF and undoes quoted-printable (soft line breaks and `=XX`),
/// enough to look for a body's text in a formatted or delivered message.
fn readable(formatted: &[u8]) -> String {
    let formatted = String::from_utf8_lossy(formatted).replace("\r\n", "\n");
    let formatted = formatted.as_bytes();
    let mut out = Vec::with_capacity(formatted.len());
    let mut i = 0;
    while i < formatted.len() {
        let rest = &formatted[i..];
        if rest.starts_with(b"=\n") {
            i += 2;
        } else if let Some(byte) = rest
            .strip_prefix(b"=")
            .and_then(|hex| hex.get(..2))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(formatted[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_message_with_a_calendar_entry_is_mixed() {
    let message = outgoing(Some(ICS));
    let email = build_message("Cohort <cohort@example.org>", &message).unwrap();
    let formatted = String::from_utf8(email.formatted()).unwrap();
    for expected in [
        "From: Cohort <cohort@example.org>",
        "To: \"Ada Lovelace\" <ada@example.org>",
        "Subject: You're going: Async Night",
        "Message-ID: <",
        "@example.org>",
        "Content-Type: multipart/mixed",
        "Content-Type: multipart/alternative",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Type: text/html; charset=utf-8",
        "Content-Type: text/calendar; charset=utf-8; method=PUBLISH",
        "Content-Disposition: attachment; filename=\"event.ics\"",
        "BEGIN:VCALENDAR\r\n",
        "SUMMARY:Async Night\r\n",
    ] {
        assert!(
            formatted.contains(expected),
            "lacks {expected:?}:\n{formatted}"
        );
    }
    // The alternatives come first, text before HTML, then the attachment.
    let position = |needle: &str| formatted.find(needle).unwrap();
    assert!(position("multipart/alternative") < position("text/plain"));
    assert!(position("text/plain") < position("text/html"));
    assert!(position("text/html") < position("text/calendar"));

    let readable = readable(&email.formatted());
    assert!(
        readable.contains(&message.rendered.text),
        "the text part is not in the message:\n{readable}"
    );
    assert!(
        readable.contains(&message.rendered.html),
        "the HTML part is not in the message"
    );
    assert_eq!(
        email
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["ada@example.org"]
    );
}

#[test]
fn a_message_without_a_calendar_entry_is_just_the_alternatives() {
    let email = build_message("cohort@example.org", &outgoing(None)).unwrap();
    let formatted = String::from_utf8(email.formatted()).unwrap();
    assert!(
        formatted.contains("Content-Type: multipart/alternative"),
        "{formatted}"
    );
    assert!(
        formatted.contains("Content-Type: text/plain; charset=utf-8"),
        "{formatted}"
    );
    assert!(
        formatted.contains("Content-Type: text/html; charset=utf-8"),
        "{formatted}"
    );
    assert!(!formatted.contains("multipart/mixed"), "{formatted}");
    assert!(!formatted.contains("event.ics"), "{formatted}");
}

#[test]
fn a_name_with_line_breaks_is_cleaned_not_fatal() {
    assert_eq!(
        mailbox_name("Ada\r\nBcc: victim@example.org\u{0}\t Lovelace").as_deref(),
        Some("Ada Bcc: victim@example.org Lovelace")
    );
    assert_eq!(mailbox_name("\r\n"), None);
    let mut message = outgoing(None);
    message.to_name = "Ada\r\nBcc: victim@example.org".to_owned();
    let email = build_message("cohort@example.org", &message).unwrap();
    let formatted = String::from_utf8(email.formatted()).unwrap();
    assert!(!formatted.contains("\nBcc:"), "{formatted}");
    assert_eq!(
        email
            .envelope()
            .to()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["ada@example.org"]
    );
    message.to_name = "\r\n".to_owned();
    let email = build_message("cohort@example.org", &message).unwrap();
    let formatted = String::from_utf8(email.formatted()).unwrap();
    assert!(formatted.contains("To: ada@example.org"), "{formatted}");
}

#[test]
fn bad_addresses_and_urls_are_errors() {
    assert!(build_message("not an address", &outgoing(None)).is_err());
    let mut message = outgoing(None);
    message.to_address = "nobody".to_owned();
    assert!(build_message("cohort@example.org", &message).is_err());

    assert!(SmtpMailer::new("http://127.0.0.1:25", "cohort@example.org").is_err());
    assert!(SmtpMailer::new("smtp://127.0.0.1:25", "Cohort <nope>").is_err());
    let error = SmtpMailer::new("ftp://user:secret@host", "cohort@example.org").unwrap_err();
    assert!(!format!("{error:#}").contains("secret"), "{error:#}");
    // The TLS forms build (this needs rustls' crypto provider) without connecting.
    SmtpMailer::new(
        "smtp://user:pass@host:587?tls=required",
        "cohort@example.org",
    )
    .unwrap();
    let mailer = SmtpMailer::new("smtps://user:secret@host:465", "cohort@example.org").unwrap();
    assert!(!format!("{mailer:?}").contains("secret"));
}
