//! Login rate limiting per client address (actix-governor, a GCRA limiter),
//! answering problem+json like every other error.
use actix_governor::governor::NotUntil;
use actix_governor::governor::clock::{Clock, DefaultClock, QuantaInstant};
use actix_governor::governor::middleware::NoOpMiddleware;
use actix_governor::{
    GovernorConfig, GovernorConfigBuilder, KeyExtractor, SimpleKeyExtractionError,
};
use actix_web::dev::ServiceRequest;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};
use std::net::IpAddr;

use crate::error::ApiError;

/// Keys requests by peer address and renders refusals as problem+json.
#[derive(Clone, Copy, Debug)]
pub struct PeerIp;

impl KeyExtractor for PeerIp {
    type Key = IpAddr;
    type KeyExtractionError = SimpleKeyExtractionError<&'static str>;

    fn extract(&self, req: &ServiceRequest) -> Result<Self::Key, Self::KeyExtractionError> {
        req.peer_addr()
            .map(|a| a.ip())
            .ok_or_else(|| SimpleKeyExtractionError::new("no peer address"))
    }

    fn exceed_rate_limit_response(
        &self,
        negative: &NotUntil<QuantaInstant>,
        _response: HttpResponseBuilder,
    ) -> HttpResponse {
        let wait = negative
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        ApiError::TooManyRequests {
            retry_after_secs: wait,
        }
        .error_response()
    }
}

/// A limiter allowing `per_minute` attempts per minute with bursts of `burst`.
pub fn login_rate_limiter(
    per_minute: u32,
    burst: u32,
) -> anyhow::Result<GovernorConfig<PeerIp, NoOpMiddleware<QuantaInstant>>> {
    // Nanoseconds, so that any rate works (milliseconds rounded 60,000 per
    // minute and more down to a period of 0, which refused to start).
    let per_minute = u64::from(per_minute.max(1));
    GovernorConfigBuilder::default()
        .key_extractor(PeerIp)
        .period(std::time::Duration::from_nanos(
            (60_000_000_000 / per_minute).max(1),
        ))
        .burst_size(burst.max(1))
        .finish()
        .ok_or_else(|| anyhow::anyhow!("invalid login rate limit"))
}
