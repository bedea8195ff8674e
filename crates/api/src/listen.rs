//! The listening side: how many connections may be open, how long a client may take to send
//! its request headers, and how long shutdown waits for connections to finish.
//!
//! hyper (through axum-server) reads the headers under `header_read_timeout` and closes a
//! connection that sends nothing within `first_request_timeout`; what neither does is cap the
//! number of open connections, so [`LimitAcceptor`] does: past the cap a connection is closed as
//! soon as it is accepted (its file descriptor freed), counted in `lapse_connections_refused`.
//! Before this, 300 silent connections exhausted a 256-descriptor process and `/healthz` stopped
//! answering, and one half-sent request kept the process alive 45 s after SIGTERM.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::telemetry::Metrics;

/// How the server treats connections.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once (clamped below the process's file-descriptor limit).
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (and its first request, once connected).
    pub header_timeout: Duration,
    /// Seconds shutdown waits for connections before closing them.
    pub shutdown_grace: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits { max_connections: 4096, header_timeout: Duration::from_secs(10), shutdown_grace: Duration::from_secs(10) }
    }
}

impl ConnectionLimits {
    /// `max_connections`, lowered to leave 64 descriptors for files (score log, snapshot,
    /// registry) under the process's open-file limit.
    pub fn effective_max_connections(&self) -> usize {
        match open_file_limit() {
            Some(limit) if limit > 128 => self.max_connections.min(limit - 64),
            Some(_) => self.max_connections.min(64),
            None => self.max_connections,
        }
    }
}

/// The soft limit on open files, if it can be read.
#[allow(unsafe_code)]
fn open_file_limit() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct we pass and has no other effect.
        let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        (ok && limit.rlim_cur != libc::RLIM_INFINITY).then(|| usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX))
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// An acceptor that admits at most as many connections as its semaphore has permits, each
/// holding one until it closes.
#[derive(Clone)]
pub struct LimitAcceptor<A> {
    inner: A,
    permits: Arc<Semaphore>,
    metrics: Arc<Metrics>,
}

impl<A> LimitAcceptor<A> {
    pub fn new(inner: A, max_connections: usize, metrics: Arc<Metrics>) -> Self {
        LimitAcceptor { inner, permits: Arc::new(Semaphore::new(max_connections.max(1))), metrics }
    }
}

impl<A, I, S> Accept<I, S> for LimitAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = Counted<A::Stream>;
    type Service = A::Service;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() else {
            self.metrics.connection_refused();
            drop(stream);
            return Box::pin(std::future::ready(Err(io::Error::other("too many connections open: closed at once"))));
        };
        let accepted = self.inner.accept(stream, service);
        let metrics = Arc::clone(&self.metrics);
        Box::pin(async move {
            let (stream, service) = accepted.await?;
            metrics.connection_opened();
            Ok((Counted { inner: stream, permit: Some(permit), metrics }, service))
        })
    }
}

/// A connection's stream holding its permit (released, and the gauge lowered, when it closes).
pub struct Counted<S> {
    inner: S,
    permit: Option<OwnedSemaphorePermit>,
    metrics: Arc<Metrics>,
}

impl<S> Drop for Counted<S> {
    fn drop(&mut self) {
        if self.permit.take().is_some() {
            self.metrics.connection_closed();
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
