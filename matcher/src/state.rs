//! What the index knows about a volunteer, and when a volunteer is available.
use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};

/// A moment in time as whole seconds since the Unix epoch (UTC).
///
/// The matcher never reads a clock: every time-dependent call takes `now`
/// from the caller (with chrono: `Utc::now().timestamp()`), which keeps it
/// deterministic and testable.
pub type UnixTime = i64;

/// Seconds in the sliding window of the offer cap.
pub const OFFER_WINDOW_S: i64 = 3600;

/// A reported location and when it was reported.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    /// Where the volunteer was.
    pub at: GeoPoint,
    /// When the phone reported it.
    pub seen_at: UnixTime,
}

/// A certificate that makes a skill usable until it expires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Certificate {
    /// The skill it certifies.
    pub skill: Skill,
    /// The first moment at which it is no longer valid.
    pub expires_at: UnixTime,
}

/// Everything the index keeps about one volunteer.
///
/// Skill semantics: a skill in [`skills`](Self::skills) is usable at `now`
/// when it has no entry in [`certificates`](Self::certificates), or when at
/// least one of its certificates has `expires_at > now`. Certificates for
/// skills not in `skills` are ignored. Whether a skill *needs* a certificate
/// (see `Skill::needs_certificate`) is the roster's business: the caller puts
/// a certificate-only skill into `skills` only with its certificate.
///
/// # Example
/// ```
/// use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};
/// use zhongdui_matcher::{Certificate, MatcherConfig, Position, VolunteerState};
///
/// let now = 1_750_000_000;
/// let v = VolunteerState {
///     position: Some(Position { at: GeoPoint::parse(27.55, 120.55)?, seen_at: now - 60 }),
///     on_duty: true,
///     skills: SkillSet::from_iter([Skill::FirstAid, Skill::Patrol]),
///     certificates: vec![Certificate { skill: Skill::FirstAid, expires_at: now + 86_400 }],
///     ..VolunteerState::new(VolunteerId::new())
/// };
/// let cfg = MatcherConfig::default();
/// assert!(v.is_available(Skill::FirstAid.into(), now, &cfg));
/// // A day later the first-aid certificate has expired; patrol needs none.
/// let later = now + 86_400;
/// let fresh = VolunteerState { position: Some(Position { seen_at: later, ..v.position.unwrap() }), ..v.clone() };
/// assert!(!fresh.is_available(Skill::FirstAid.into(), later, &cfg));
/// assert!(fresh.is_available(Skill::Patrol.into(), later, &cfg));
/// # Ok::<(), zhongdui_domain::DomainError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VolunteerState {
    /// Who.
    pub id: VolunteerId,
    /// Last reported location, if any. A volunteer without one is never found.
    pub position: Option<Position>,
    /// Whether the volunteer is on duty.
    pub on_duty: bool,
    /// Tasks currently in hand (accepted, not yet completed).
    pub active_tasks: u32,
    /// How many tasks the volunteer may hold at once (default 1).
    pub capacity: u32,
    /// Skills held (see the type's documentation for certificates).
    pub skills: SkillSet,
    /// Expiry of the skills that have a certificate.
    pub certificates: Vec<Certificate>,
    /// Since when the volunteer has been idle: the end of the last task (or
    /// the roster's start if never). Smaller is idle longer. Used only for
    /// fairness; [`VolunteerIndex::set_active_tasks`](crate::VolunteerIndex::set_active_tasks)
    /// refreshes it when the last task ends.
    pub idle_since: UnixTime,
}

impl VolunteerState {
    /// A volunteer with no position, off duty, no skills, capacity 1, idle
    /// since the epoch. Fill the rest with struct update syntax.
    pub fn new(id: VolunteerId) -> Self {
        VolunteerState {
            id,
            position: None,
            on_duty: false,
            active_tasks: 0,
            capacity: 1,
            skills: SkillSet::EMPTY,
            certificates: Vec::new(),
            idle_since: 0,
        }
    }

    /// Whether `skill` is held and its certificate (if any) valid at `now`.
    pub fn holds(&self, skill: Skill, now: UnixTime) -> bool {
        if !self.skills.contains(skill) {
            return false;
        }
        let mut certified = false;
        for c in self.certificates.iter().filter(|c| c.skill == skill) {
            if c.expires_at > now {
                return true;
            }
            certified = true;
        }
        !certified
    }

    /// Whether every skill of `required` is held with a valid certificate.
    pub fn holds_all(&self, required: SkillSet, now: UnixTime) -> bool {
        required.iter().all(|s| self.holds(s, now))
    }

    /// Tasks the volunteer can still take (`capacity - active_tasks`, not below 0).
    pub fn free_capacity(&self) -> u32 {
        self.capacity.saturating_sub(self.active_tasks)
    }

    /// Whether the location is fresher than `cfg.max_location_age_s` at `now`.
    pub fn location_fresh(&self, now: UnixTime, cfg: &MatcherConfig) -> bool {
        self.position
            .is_some_and(|p| now.saturating_sub(p.seen_at) < cfg.max_location_age_s)
    }

    /// The availability rule of the design, *without* the offer cap (which
    /// needs the offer history the index keeps): on duty, under capacity,
    /// location fresher than the configured age, and every required skill
    /// held with an unexpired certificate.
    pub fn is_available(&self, required: SkillSet, now: UnixTime, cfg: &MatcherConfig) -> bool {
        self.on_duty
            && self.active_tasks < self.capacity
            && self.location_fresh(now, cfg)
            && self.holds_all(required, now)
    }

    /// The earliest moment at which some held skill's certificates have all
    /// expired (`UnixTime::MAX` when none can). Before it, every held skill
    /// is usable, which lets the search skip the per-skill check.
    pub(crate) fn certificates_valid_until(&self) -> UnixTime {
        let mut until = UnixTime::MAX;
        for s in self.skills.iter() {
            let latest = self
                .certificates
                .iter()
                .filter(|c| c.skill == s)
                .map(|c| c.expires_at)
                .max();
            if let Some(t) = latest {
                until = until.min(t);
            }
        }
        until
    }
}

/// Tunables of the index. Every number is configuration (see the design).
#[derive(Debug, Clone, PartialEq)]
pub struct MatcherConfig {
    /// A location older than this many seconds makes the volunteer
    /// unavailable (default 1800: 30 minutes).
    pub max_location_age_s: i64,
    /// Fairness: among candidates within this many metres of each other the
    /// one idle longest comes first (default 50 m; 0 disables fairness and
    /// gives pure nearest-first order). See [`VolunteerIndex::nearest_available`](crate::VolunteerIndex::nearest_available).
    pub fairness_epsilon_m: f64,
    /// At most this many offers per volunteer in any sliding hour, counted
    /// from [`VolunteerIndex::record_offer`](crate::VolunteerIndex::record_offer)
    /// (default `Some(6)`; `None` for no cap).
    pub max_offers_per_hour: Option<u32>,
    /// A skill held by at most this fraction of the volunteers in the index
    /// gets its own R-tree, searched instead of the main tree when that skill
    /// is required (default 0.05). The tree is dropped when the skill's share
    /// grows past twice this fraction. 0 disables per-skill trees (the main
    /// tree's skill summaries still prune); 1 gives every skill a tree.
    pub rare_skill_fraction: f64,
    /// Location updates that stay within this many metres (straight-line,
    /// about the same as haversine at these scales) of the position the
    /// trees hold for the volunteer leave the trees alone: only the exact
    /// position kept for distances changes. Searches widen their tree bounds
    /// by the same amount and still rank by the exact haversine distance of
    /// the reported position, so results are unchanged. A larger slack makes
    /// walking updates cheaper and searches wider: at 1M volunteers, 25 m
    /// roughly halved the cost of 50 m steps but made a common-skill k = 5
    /// search about 40% slower (see the README), so the default is 0
    /// (re-index on every move).
    pub location_slack_m: f64,
    /// A move or removal leaves a tombstone in the trees instead of taking
    /// the entry out (rstar's removal was the most expensive part of a
    /// location update). A tree is bulk loaded again from its live entries
    /// once its tombstones exceed this fraction of them (default 0.25),
    /// which also restores the packing that R* insertions wear down: at 1M
    /// volunteers a common-skill search became about twice as slow after
    /// 500k walking moves without it. A repack costs about as much as a
    /// bulk load of that tree (about 0.3 s for the main tree at 1M, a few
    /// ms at 10k), paid by the update that triggers it. Values that are not
    /// finite and positive mean the default.
    pub repack_dead_fraction: f64,
    /// Rotation by recent offers: each offer a volunteer received in the
    /// last hour counts as this many metres of extra distance when searches
    /// rank candidates (the fairness margin ε then applies to these ranking
    /// distances). Volunteers who were just offered something step back by
    /// a fixed distance, so the next offer goes to someone nearly as near
    /// when there is one and stays with the near one when the next is far:
    /// the cost in travel is bounded per offer. Distances reported stay the
    /// true ones; batch assignment ranks by true distance. Default 0 (off).
    pub offer_penalty_m: f64,
    /// The offer penalty of one volunteer never exceeds this many metres.
    pub offer_penalty_max_m: f64,
}

impl MatcherConfig {
    /// [`MatcherConfig::repack_dead_fraction`], or its default when not a
    /// finite positive number.
    pub(crate) fn repack_fraction(&self) -> f64 {
        let f = self.repack_dead_fraction;
        if f > 0.0 && f.is_finite() { f } else { 0.25 }
    }
}

impl Default for MatcherConfig {
    fn default() -> Self {
        MatcherConfig {
            max_location_age_s: 1800,
            fairness_epsilon_m: 50.0,
            max_offers_per_hour: Some(6),
            rare_skill_fraction: 0.05,
            location_slack_m: 0.0,
            repack_dead_fraction: 0.25,
            offer_penalty_m: 0.0,
            offer_penalty_max_m: f64::INFINITY,
        }
    }
}
