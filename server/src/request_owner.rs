//! Each request's reactive owner, kept with the request rather than with the worker thread.
//!
//! Leptos keeps the current reactive owner (the scope that contexts are read from) in a
//! thread-local and assumes a request is polled on one thread from start to end. Tokio's
//! scheduler moves tasks between worker threads, so that does not hold, and two failures
//! were seen here:
//!
//! - leptos_axum gives each server-function call `Owner::new()`, which becomes a child of
//!   whatever owner is current. Another page's owner left current on the thread made the
//!   call's owner (and its contexts: the database pool, the request) go when that page's
//!   render ended, mid-call ("the database pool is missing", seen as an import progress
//!   bar that stopped polling in end2end/tests/import.spec.ts).
//! - A page's response makes its root owner current (`Owner::new_root`), awaits the
//!   render, then writes the preload links of the page's wasm chunks from the current
//!   owner. Resumed on another thread, it found no owner (or another page's) and the
//!   links went nowhere: under the load test (`cargo run --release -p server --example
//!   load`, 200 members) the server printed "tried to use a leptos_meta component without
//!   `ServerMetaContext` provided" some 550 times a minute, and those pages lacked the
//!   preloads that let the browser fetch their chunks at once.
//!
//! [`keep_request_owner`] wraps every request's future: each poll starts with the owner
//! the request's previous poll ended with (none at first) and ends by putting back the
//! thread's own, so a request's owner follows it across threads and never leaks into
//! another task.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use leptos::prelude::Owner;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Middleware, the innermost layer: the rest of the request runs in [`RequestOwner`].
pub async fn keep_request_owner(request: Request, next: Next) -> Response {
    RequestOwner::new(next.run(request)).await
}

/// A future polled with its own current reactive owner (see the module's note).
pub struct RequestOwner<F> {
    inner: Pin<Box<F>>,
    /// The owner the last poll left current, made current again for the next.
    owner: Option<Owner>,
}

impl<F: Future> RequestOwner<F> {
    pub fn new(inner: F) -> Self {
        RequestOwner {
            inner: Box::pin(inner),
            owner: None,
        }
    }
}

impl<F: Future> Future for RequestOwner<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let thread_owner = Owner::current();
        make_current(this.owner.as_ref());
        let polled = this.inner.as_mut().poll(cx);
        this.owner = if polled.is_pending() {
            Owner::current()
        } else {
            None
        };
        make_current(thread_owner.as_ref());
        polled
    }
}

fn make_current(owner: Option<&Owner>) {
    match owner {
        Some(owner) => owner.set(),
        None => {
            if let Some(current) = Owner::current() {
                current.unset();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use leptos::prelude::{provide_context, use_context};
    use std::task::Waker;

    #[derive(Clone)]
    struct Marker(u32);

    /// Like a page's response: a root owner made current, a wait, then a context read
    /// from the current owner.
    async fn page() -> Option<u32> {
        let _owner = Owner::new_root(None);
        provide_context(Marker(7));
        // Pending once, as a render that waits for the database.
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                Poll::Ready(())
            } else {
                yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
        })
        .await;
        use_context::<Marker>().map(|marker| marker.0)
    }

    #[test]
    fn a_request_keeps_its_owner_on_another_thread_and_leaves_none_behind() {
        let mut request = Box::pin(RequestOwner::new(page()));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(request.as_mut().poll(&mut cx).is_pending());
        assert!(
            Owner::current().is_none(),
            "the request's owner stayed current on the thread after its poll"
        );
        let resumed = std::thread::spawn(move || {
            let mut cx = Context::from_waker(Waker::noop());
            request.as_mut().poll(&mut cx)
        })
        .join()
        .unwrap();
        assert_eq!(
            resumed,
            Poll::Ready(Some(7)),
            "resumed on another thread, the request lost its owner's context"
        );
    }

    #[test]
    fn a_request_never_sees_an_owner_left_on_the_thread() {
        let stray = Owner::new_root(None);
        provide_context(Marker(1));
        let mut request = Box::pin(RequestOwner::new(async {
            use_context::<Marker>().map(|marker| marker.0)
        }));
        let mut cx = Context::from_waker(Waker::noop());
        assert_eq!(request.as_mut().poll(&mut cx), Poll::Ready(None));
        assert_eq!(
            Owner::current(),
            Some(stray),
            "the thread's owner was not put back"
        );
    }
}
