//! Every message the server sends over the bus, as types: [`Push`] for what
//! reaches people's pages (through the outbox and the WebSocket, or live for
//! positions) and [`Peer`] for what one api process tells the others about
//! its index. On the wire each is `{"type": "<kind>", …fields}`, the JSON the
//! pages and the acceptance checks read; `tests` below pins each shape.
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// Redis-style channel names (DESIGN.md), with the configured prefix.
#[derive(Debug, Clone, Copy)]
pub struct Channels<'a>(pub &'a str);

impl Channels<'_> {
    /// A volunteer's own channel.
    pub fn volunteer(&self, id: Uuid) -> String {
        format!("{}:volunteer:{id}", self.0)
    }
    /// An order's channel (its resident and staff listen).
    pub fn order(&self, id: Uuid) -> String {
        format!("{}:order:{id}", self.0)
    }
    /// The coordinators' feed.
    pub fn ops(&self) -> String {
        format!("{}:ops", self.0)
    }
    /// Index updates between processes.
    pub fn index(&self) -> String {
        format!("{}:index", self.0)
    }
    /// Wakes the outbox relay of every process.
    pub fn relay(&self) -> String {
        format!("{}:relay", self.0)
    }
    /// A Redis key under the same prefix (`{prefix}:{rest}`).
    pub fn key(&self, rest: &str) -> String {
        format!("{}:{rest}", self.0)
    }
}

/// What a page is told. Serialised with its kind as `type`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Push {
    /// A volunteer is offered a task (their channel).
    Offer {
        /// The assignment row that is the offer.
        offer_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Category code.
        category: String,
        /// Urgency code.
        urgency: String,
        /// Address.
        address: String,
        /// What the resident (or station) said is needed.
        description: String,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Distance from the volunteer, in whole metres.
        distance_m: f64,
        /// When the offer runs out (RFC 3339).
        deadline: String,
        /// The role offered (skill code), on an order with roles.
        #[serde(skip_serializing_if = "Option::is_none")]
        role: Option<String>,
    },
    /// An offer ran out unanswered (the volunteer's channel).
    OfferExpired {
        /// The offer.
        offer_id: Uuid,
        /// The order.
        order_id: Uuid,
    },
    /// An offer was taken back: the order filled or was cancelled.
    OfferWithdrawn {
        /// The offer.
        offer_id: Uuid,
        /// The order.
        order_id: Uuid,
        /// `filled` or `cancelled`.
        reason: String,
    },
    /// A new order (the coordinators' feed).
    OrderCreated {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Category code.
        category: String,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// Urgency code.
        urgency: String,
        /// Volunteers needed.
        headcount: i32,
    },
    /// An order moved (its channel and the coordinators' feed).
    OrderStatus {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// The new status.
        status: String,
        /// The status it left.
        from: String,
        /// What the transition recorded.
        data: Value,
        /// Routes the order channel's pushes to the resident's sessions.
        resident_id: Option<Uuid>,
    },
    /// The order a volunteer is on was cancelled (the volunteer's channel).
    OrderCancelled {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Why, when given.
        reason: Option<String>,
    },
    /// A volunteer came onto an order (its channel and the feed).
    VolunteerAssigned {
        /// The order.
        order_id: Uuid,
        /// Who.
        volunteer_id: Uuid,
        /// Volunteers on it now.
        filled: i32,
        /// Volunteers needed.
        headcount: i32,
        /// Routes the order channel's pushes to the resident's sessions.
        resident_id: Option<Uuid>,
    },
    /// A volunteer withdrew from an order (its channel and the feed).
    VolunteerWithdrew {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Who.
        volunteer_id: Uuid,
        /// Why, as they said.
        reason: Option<String>,
        /// Volunteers on it now.
        filled: i32,
        /// Volunteers needed.
        headcount: i32,
        /// Routes the order channel's pushes to the resident's sessions.
        resident_id: Option<Uuid>,
    },
    /// A volunteer on an order is not on scene when expected (the
    /// coordinators' feed and the volunteer's channel): replacements are
    /// being offered, and the first to accept takes their place.
    VolunteerOverdue {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Who.
        volunteer_id: Uuid,
        /// When they were expected (RFC 3339).
        expected_by: String,
    },
    /// A volunteer's certificate runs out soon: 30 and 7 days before (the
    /// volunteer's channel and the coordinators' feed).
    CertificateExpiring {
        /// Whose.
        volunteer_id: Uuid,
        /// Their name.
        volunteer_name: String,
        /// Their team.
        team_id: Uuid,
        /// Its name.
        team_name: String,
        /// The skill (code).
        skill: String,
        /// The last valid day (YYYY-MM-DD).
        certified_until: String,
        /// Days left.
        days_left: i64,
    },
    /// A coordinator put the volunteer on an order (their channel).
    Assigned {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
    },
    /// A coordinator took the volunteer off an order (their channel).
    AssignmentRemoved {
        /// The order.
        order_id: Uuid,
    },
    /// Points credited for an order (the volunteer's channel).
    PointsAwarded {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// Points, this order's total for the volunteer.
        amount: i64,
    },
    /// A coordinator adjusted the volunteer's points, or booked a redemption
    /// (their channel), with the balance after it, so their page updates live.
    PointsAdjusted {
        /// `adjustment` or `redemption`.
        kind: String,
        /// Points added (negative: taken or spent).
        amount: i64,
        /// The coordinator's reason.
        reason: Option<String>,
        /// The balance after the booking.
        balance: i64,
    },
    /// A volunteer went on or off duty (the feed and their own channel).
    VolunteerDuty {
        /// Who.
        volunteer_id: Uuid,
        /// The new state.
        on_duty: bool,
        /// Why: `manual` (their switch) or `shift` (a rota shift began or ended).
        source: String,
        /// The shift, when a shift switched it.
        shift_id: Option<Uuid>,
    },
    /// A volunteer left a shift ahead of time (the feed).
    ShiftLeft {
        /// The shift.
        shift_id: Uuid,
        /// Its team.
        team_id: Uuid,
        /// Who left.
        volunteer_id: Uuid,
        /// Their name.
        display_name: String,
        /// When the shift starts (RFC 3339).
        starts_at: String,
        /// Their reason.
        reason: String,
    },
    /// A new message in an order's liaison thread (the order's channel, the
    /// coordinators' feed, and each volunteer on the order).
    OrderMessage {
        /// The order.
        order_id: Uuid,
        /// Its human code.
        code: String,
        /// The message's id in the thread.
        message_id: i64,
        /// The author's role: resident, volunteer, coordinator, admin or client.
        author_role: String,
        /// The author's name (a station's name for a client).
        author_name: String,
        /// The text.
        text: String,
        /// When (RFC 3339).
        created_at: String,
        /// Routes the order channel's pushes to the resident's sessions.
        resident_id: Option<Uuid>,
    },
    /// A coordinator's announcement to a team (each volunteer's channel).
    Broadcast {
        /// The broadcast.
        broadcast_id: Uuid,
        /// The team.
        team_id: Uuid,
        /// Its name.
        team_name: String,
        /// Who sent it.
        author_name: String,
        /// The text.
        text: String,
        /// When (RFC 3339).
        created_at: String,
    },
    /// Where a volunteer heading to an order is (the order's channel).
    #[serde(rename = "volunteer_position")]
    HeadingTo {
        /// The order.
        order_id: Uuid,
        /// Who.
        volunteer_id: Uuid,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// From the order's place, in whole metres.
        distance_m: f64,
        /// Routes the push to the resident's sessions.
        resident_id: Option<Uuid>,
    },
    /// Where an on-duty volunteer is (the feed, at most every 10 s each).
    #[serde(rename = "volunteer_position")]
    Position {
        /// Who.
        volunteer_id: Uuid,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
    },
}

impl Push {
    /// The JSON on the wire.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// What the WebSocket answers the client itself (not over the bus).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The first message of a session.
    Hello {
        /// Whose session.
        user_id: Uuid,
        /// Their role code.
        role: &'static str,
        /// The event id the session resumed after, if any.
        resumed_from: Option<i64>,
    },
    /// The answer to a ping.
    Pong,
    /// A message the server could not act on.
    Error {
        /// The field at fault, when there is one.
        #[serde(skip_serializing_if = "Option::is_none")]
        field: Option<String>,
        /// A stable machine code for what went wrong.
        code: &'static str,
        /// What went wrong, in the session's language.
        detail: String,
    },
}

impl Reply {
    /// An error without a field.
    pub fn error(text: impl Into<zhongdui_domain::text::Text>) -> Reply {
        Reply::field_error(None, text)
    }

    /// An error, about `field` when given, in the session's language.
    pub fn field_error(field: Option<&str>, text: impl Into<zhongdui_domain::text::Text>) -> Reply {
        let text = text.into();
        Reply::Error {
            field: field.map(str::to_owned),
            code: text.code(),
            detail: text.render(crate::lang::current()),
        }
    }

    /// The JSON text sent.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What one api process tells the others about the volunteers' index (the
/// `<prefix>:index` channel), and the relay's wake-up (its own channel).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Peer {
    /// A position report.
    Location {
        /// Who.
        volunteer_id: Uuid,
        /// Latitude.
        lat: f64,
        /// Longitude.
        lon: f64,
        /// When (Unix seconds).
        at: i64,
    },
    /// Re-read these volunteers from the database.
    Refresh {
        /// Whom.
        volunteers: Vec<Uuid>,
    },
    /// A volunteer's task count after a claim.
    Tasks {
        /// Who.
        volunteer_id: Uuid,
        /// Tasks in hand.
        active_tasks: i32,
        /// Tasks allowed.
        capacity: i32,
        /// When (Unix seconds).
        at: i64,
    },
    /// Offers withdrawn from these volunteers: no longer busy.
    Released {
        /// Whom.
        volunteers: Vec<Uuid>,
    },
    /// Offers sent by the telling process: (volunteer, when).
    Offers {
        /// The offers.
        offers: Vec<(Uuid, i64)>,
    },
    /// The relay has rows to publish (sent to the relaying process).
    Relay,
}

impl Peer {
    /// The JSON on the wire.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Reads a peer's message; None (ignored) for anything else.
    pub fn read(v: &Value) -> Option<Peer> {
        Peer::deserialize(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The JSON of each kind is what the pages and the other processes read.
    #[test]
    fn wire_shapes() {
        let (o, v) = (Uuid::from_u128(1), Uuid::from_u128(2));
        assert_eq!(
            Push::OrderStatus {
                order_id: o,
                code: "ZD-1".into(),
                status: "assigned".into(),
                from: "open".into(),
                data: json!({"filled": 1}),
                resident_id: None,
            }
            .to_value(),
            json!({"type": "order_status", "order_id": o.to_string(), "code": "ZD-1", "status": "assigned",
                   "from": "open", "data": {"filled": 1}, "resident_id": null})
        );
        assert_eq!(
            Push::Position {
                volunteer_id: v,
                lat: 1.5,
                lon: 2.5
            }
            .to_value(),
            json!({"type": "volunteer_position", "volunteer_id": v.to_string(), "lat": 1.5, "lon": 2.5})
        );
        assert_eq!(
            Push::HeadingTo {
                order_id: o,
                volunteer_id: v,
                lat: 1.5,
                lon: 2.5,
                distance_m: 30.0,
                resident_id: Some(o),
            }
            .to_value()["type"],
            "volunteer_position"
        );
        assert_eq!(
            Push::AssignmentRemoved { order_id: o }.to_value(),
            json!({"type": "assignment_removed", "order_id": o.to_string()})
        );
        assert_eq!(
            Push::Broadcast {
                broadcast_id: o,
                team_id: v,
                team_name: "一队".into(),
                author_name: "王".into(),
                text: "集合".into(),
                created_at: "2026-12-01T00:00:00+00:00".into(),
            }
            .to_value(),
            json!({"type": "broadcast", "broadcast_id": o.to_string(), "team_id": v.to_string(), "team_name": "一队",
                   "author_name": "王", "text": "集合", "created_at": "2026-12-01T00:00:00+00:00"})
        );
        assert_eq!(
            Push::OrderMessage {
                order_id: o,
                code: "ZD-1".into(),
                message_id: 3,
                author_role: "client".into(),
                author_name: "站".into(),
                text: "到了吗".into(),
                created_at: "2026-12-01T00:00:00+00:00".into(),
                resident_id: None,
            }
            .to_value()["type"],
            "order_message"
        );
        let offers = Peer::Offers {
            offers: vec![(v, 7)],
        };
        assert_eq!(
            offers.to_value(),
            json!({"type": "offers", "offers": [[v.to_string(), 7]]})
        );
        assert_eq!(Peer::read(&offers.to_value()), Some(offers));
        assert_eq!(Peer::Relay.to_value(), json!({"type": "relay"}));
        assert_eq!(
            Peer::read(&json!({"type": "refresh", "volunteers": [v.to_string()]})),
            Some(Peer::Refresh {
                volunteers: vec![v]
            })
        );
        assert_eq!(Peer::read(&json!({"type": "nonsense"})), None);
        assert_eq!(Reply::Pong.to_text(), r#"{"type":"pong"}"#);
        assert_eq!(
            serde_json::to_value(Reply::error(
                &zhongdui_domain::text::phrases::WS_UNKNOWN_TYPE
            ))
            .unwrap(),
            json!({"type": "error", "code": "ws.unknown_type", "detail": "未知的消息类型"})
        );
        assert_eq!(
            serde_json::to_value(Reply::Hello {
                user_id: v,
                role: "volunteer",
                resumed_from: None
            })
            .unwrap(),
            json!({"type": "hello", "user_id": v.to_string(), "role": "volunteer", "resumed_from": null})
        );
    }
}
