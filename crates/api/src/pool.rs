//! Work too heavy for an async worker (scoring big requests, planning a campaign) runs on
//! rayon's pool; its panics are caught and answered 500.

use super::error::ApiError;

/// Runs CPU work on rayon's pool (not tokio's blocking threads): the contract checks, snapshot
/// builder and scoring it calls use rayon, and from inside the pool their small parallel steps
/// stay on the same thread instead of crossing to the pool and back several times a request.
/// A panic is caught and answered 500, never left to abort the process.
pub async fn on_compute_pool<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)));
    });
    match rx.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_panic)) => Err(ApiError::internal("scoring failed unexpectedly (a bug: the server log has the panic)")),
        Err(closed) => Err(ApiError::internal(closed)),
    }
}
