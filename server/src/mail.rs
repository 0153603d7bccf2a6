//! Meetup e-mail: what the notices say, and sending them by SMTP.
//!
//! Three steps, each usable on its own:
//!
//! 1. [`render`] turns a [`Notice`] about an event ([`EventFacts`]) into a [`Rendered`] e-mail:
//!    a subject plus a plain-text and an HTML body. The bodies come from the askama templates
//!    `templates/mail/notice.txt` (no escaping) and `templates/mail/notice.html` (HTML-escaped:
//!    titles, names and reasons typed by members can't inject markup).
//! 2. [`build_message`] wraps an [`Outgoing`] message into a MIME [`Message`]:
//!    `multipart/alternative` (text, then HTML), inside `multipart/mixed` with an `event.ics`
//!    attachment when there is a calendar entry to send.
//! 3. [`SmtpMailer`] sends it through an SMTP relay given by URL (plain SMTP for local relays,
//!    STARTTLS or implicit TLS with credentials for real ones).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context as _};
use askama::Template;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor};

/// What one e-mail says, rendered from askama templates (text and HTML versions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The `Subject:` line, plain text.
    pub subject: String,
    /// The `text/plain` body.
    pub text: String,
    /// The `text/html` body, a complete HTML document with inline styles.
    pub html: String,
}

/// The facts every meetup e-mail shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    /// The group hosting the event.
    pub group_name: String,
    /// The event's title.
    pub title: String,
    /// When, already formatted, e.g. "Tuesday, 26 February 2013, 6:30 PM – 8:30 PM PST".
    pub when: String,
    /// "Venue, address", or empty when there is no place (the line is then left out).
    pub where_: String,
    /// Absolute URL of the event page.
    pub url: String,
}

/// Why a member is being written to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// RSVP recorded: `answer` is "yes" (with a seat), "maybe" or "no"; `guests` the number of
    /// guests the member brings. Any other answer is an error in [`render`].
    RsvpConfirmed {
        /// "yes", "maybe" or "no".
        answer: String,
        /// Guests coming along with the member (0 for none).
        guests: i32,
    },
    /// Joined the waitlist at this 1-based position.
    Waitlisted {
        /// 1-based place in the queue.
        position: i64,
    },
    /// A seat freed and the member now has it.
    Promoted,
    /// Inside the offer window: a seat is offered; the member must confirm before `expires`.
    Offered {
        /// The deadline, already formatted for display.
        expires: String,
    },
    /// The event's details changed.
    Changed {
        /// Human-readable lines such as "Time: 6:30 PM → 7:00 PM".
        changes: Vec<String>,
    },
    /// The event was cancelled.
    Cancelled {
        /// The organizer's reason; may be empty.
        reason: String,
    },
    /// The 24-hour reminder.
    Reminder,
}

/// Context of `templates/mail/notice.txt`.
#[derive(Template)]
#[template(path = "mail/notice.txt")]
struct TextBody<'a> {
    notice: &'a Notice,
    recipient: &'a str,
    event: &'a EventFacts,
    /// The notice is about a waitlist place (the footer says so instead of "RSVP'd").
    on_waitlist: bool,
    /// The call to action is to confirm an offered seat rather than just to look.
    offer: bool,
}

/// Context of `templates/mail/notice.html`; the same fields as [`TextBody`].
#[derive(Template)]
#[template(path = "mail/notice.html")]
struct HtmlBody<'a> {
    notice: &'a Notice,
    recipient: &'a str,
    event: &'a EventFacts,
    on_waitlist: bool,
    offer: bool,
}

/// Renders the notice for `recipient_name` about `event`.
///
/// `recipient_name` may be empty (the greeting is then just "Hi,").
///
/// # Errors
///
/// A [`Notice::RsvpConfirmed`] whose answer is not "yes", "maybe" or "no", or a template
/// rendering failure.
pub fn render(
    notice: &Notice,
    recipient_name: &str,
    event: &EventFacts,
) -> anyhow::Result<Rendered> {
    let subject = subject(notice, &event.title)?;
    let on_waitlist = matches!(notice, Notice::Waitlisted { .. } | Notice::Offered { .. });
    let offer = matches!(notice, Notice::Offered { .. });
    let text = TextBody {
        notice,
        recipient: recipient_name,
        event,
        on_waitlist,
        offer,
    }
    .render()
    .context("rendering the text e-mail template")?;
    let html = HtmlBody {
        notice,
        recipient: recipient_name,
        event,
        on_waitlist,
        offer,
    }
    .render()
    .context("rendering the HTML e-mail template")?;
    Ok(Rendered {
        subject,
        text,
        html,
    })
}

/// The subject line of `notice` about the event titled `title`.
fn subject(notice: &Notice, title: &str) -> anyhow::Result<String> {
    Ok(match notice {
        Notice::RsvpConfirmed { answer, .. } => match answer.as_str() {
            "yes" => format!("You're going: {title}"),
            "maybe" => format!("You said maybe: {title}"),
            "no" => format!("You're not going: {title}"),
            other => bail!("unknown RSVP answer {other:?} (expected yes, maybe or no)"),
        },
        Notice::Waitlisted { position } => {
            format!("You're on the waitlist (#{position}): {title}")
        }
        Notice::Promoted => format!("A seat opened up — you're in: {title}"),
        Notice::Offered { expires } => {
            format!("A seat is yours if you confirm by {expires}: {title}")
        }
        Notice::Changed { .. } => format!("Changed: {title}"),
        Notice::Cancelled { .. } => format!("Cancelled: {title}"),
        Notice::Reminder => format!("Tomorrow: {title}"),
    })
}

/// A ready message: the envelope and what to attach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The recipient's display name (may be empty).
    pub to_name: String,
    /// The recipient's address, e.g. "ada@example.org".
    pub to_address: String,
    /// Subject and bodies.
    pub rendered: Rendered,
    /// An RFC 5545 `VCALENDAR` text, attached as `event.ics` when present.
    pub ics: Option<String>,
}

/// Sends e-mail through one SMTP relay, from one sender.
///
/// Each [`send`](Self::send) opens its own connection (lettre's `pool` feature is off: its pool
/// needs a Tokio runtime even to be dropped), so a mailer can be made and dropped anywhere.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl fmt::Debug for SmtpMailer {
    // By hand, so that the relay's credentials can never end up in a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// A mailer sending through the relay at `url`, from `from` ("Cohort <cohort@example.org>").
    ///
    /// `url` is one of:
    /// - `smtp://127.0.0.1:2525`: plain SMTP, no authentication, no TLS (local relays, tests);
    /// - `smtp://user:pass@host:587?tls=required`: STARTTLS (`tls=opportunistic` also works);
    /// - `smtps://user:pass@host:465`: implicit TLS.
    ///
    /// The user and password are percent-decoded; a path (`smtp://host/name.example`) sets the
    /// name sent in `EHLO` (else `localhost`). This does not connect yet.
    ///
    /// # Errors
    ///
    /// An unparsable URL or sender address. The URL is not repeated in the error, since it may
    /// hold a password.
    pub fn new(url: &str, from: &str) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("invalid SMTP URL")?
            .build();
        let from = parse_from(from)?;
        Ok(Self { transport, from })
    }

    /// Builds `message` (see [`build_message`]) and sends it.
    ///
    /// # Errors
    ///
    /// An invalid recipient address, or any SMTP failure (connection, TLS, authentication,
    /// rejection by the relay).
    pub async fn send(&self, message: &Outgoing) -> anyhow::Result<()> {
        let email = build(self.from.clone(), message)?;
        self.transport
            .send(email)
            .await
            .with_context(|| format!("sending e-mail to {} by SMTP", message.to_address))?;
        Ok(())
    }
}

/// Builds the MIME message from `from` ("Cohort <cohort@example.org>") to the recipient of
/// `message`.
///
/// The body is `multipart/mixed`( `multipart/alternative`(`text/plain`, `text/html`), the
/// attachment `event.ics` as `text/calendar; charset=utf-8; method=PUBLISH` ), or just the
/// `multipart/alternative` part when there is no calendar entry. Both text parts are UTF-8.
///
/// # Errors
///
/// An unparsable sender or recipient address.
pub fn build_message(from: &str, message: &Outgoing) -> anyhow::Result<Message> {
    build(parse_from(from)?, message)
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse().with_context(|| {
        format!("invalid sender {from:?} (expected e.g. \"Cohort <cohort@example.org>\")")
    })
}

fn build(from: Mailbox, message: &Outgoing) -> anyhow::Result<Message> {
    let address: Address = message
        .to_address
        .parse()
        .with_context(|| format!("invalid recipient address {:?}", message.to_address))?;
    let to = Mailbox::new(mailbox_name(&message.to_name), address);

    let alternative = MultiPart::alternative()
        .singlepart(SinglePart::plain(message.rendered.text.clone()))
        .singlepart(SinglePart::html(message.rendered.html.clone()));
    let body = match &message.ics {
        None => alternative,
        Some(ics) => MultiPart::mixed().multipart(alternative).singlepart(
            Attachment::new("event.ics".to_owned()).body(ics.clone(), calendar_content_type()?),
        ),
    };

    let id = message_id(&from);
    Message::builder()
        .from(from)
        .to(to)
        .subject(message.rendered.subject.clone())
        .message_id(Some(id))
        .multipart(body)
        .context("building the e-mail")
}

/// A display name fit for a mail header: control characters (a CR or LF would end the
/// header, and lettre refuses them) become spaces, runs of spaces one; empty means none.
fn mailbox_name(name: &str) -> Option<String> {
    let cleaned = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>();
    let cleaned = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(cleaned).filter(|name| !name.is_empty())
}

fn calendar_content_type() -> anyhow::Result<ContentType> {
    ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
        .context("the calendar content type")
}

/// A `Message-ID` unique to this process and moment, in the sender's domain (lettre's own would
/// say `@localhost`, which spam filters frown at).
fn message_id(from: &Mailbox) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "<{nanos:x}.{pid:x}.{count:x}@{domain}>",
        pid = std::process::id(),
        domain = from.email.domain()
    )
}

#[cfg(test)]
mod tests {
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

    const ICS: &str =
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Cohort//EN\r\nMETHOD:PUBLISH\r\n\
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
}
