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
mod tests;
