//! Accounts: password hashing, tokens, the authenticated user as an
//! extractor, role checks and the login rate limit.
mod client;
mod extractor;
pub mod limits;
mod password;
mod ratelimit;
mod sealed;
mod token;

pub use client::{Caller, ClientAuth};
pub use extractor::{AuthUser, token_subject};
pub use password::{UNUSABLE_PASSWORD, hash_password, verify_password};
pub use ratelimit::login_rate_limiter;
pub use sealed::Sealer;
pub use token::{Claims, IssuedToken, TokenKeys};
