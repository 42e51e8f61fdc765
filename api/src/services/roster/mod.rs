//! The roster: teams and volunteers, with validated inputs shared by the
//! JSON routes and the CSV import.
mod fields;
mod teams;
mod volunteers;

pub use fields::*;
pub use teams::*;
pub use volunteers::*;
