use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::DomainError;

/// What a user is allowed to be. Coordinators are further scoped to the teams
/// they coordinate; admins see everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Places orders and confirms them.
    Resident,
    /// Receives offers, grabs and carries out tasks.
    Volunteer,
    /// Manages the teams they are assigned to; station officers are coordinators.
    Coordinator,
    /// Manages everything.
    Admin,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 4] = [
        Role::Resident,
        Role::Volunteer,
        Role::Coordinator,
        Role::Admin,
    ];

    /// The stable code stored and sent on the wire.
    pub fn code(self) -> &'static str {
        match self {
            Role::Resident => "resident",
            Role::Volunteer => "volunteer",
            Role::Coordinator => "coordinator",
            Role::Admin => "admin",
        }
    }

    /// Coordinators and admins manage the roster and dispatch.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Coordinator | Role::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| DomainError::new("role", format!("unknown role `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>().unwrap(), r);
        }
        assert_eq!("root".parse::<Role>().unwrap_err().field, "role");
        assert!(Role::Admin.is_staff() && !Role::Volunteer.is_staff());
    }
}
