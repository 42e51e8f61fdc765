use serde::{Deserialize, Serialize};

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

coded!(Role, "role", "role");

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
