//! The volunteer index of this process: the matcher's R-tree and what goes
//! with it (teams, the volunteers holding an open offer, offers not yet told
//! to the other processes, the journal that keeps a reload from losing a
//! change). Shared state only: it reads the database to (re)build itself and
//! knows nothing of the application state; the passes that use it are in
//! `dispatch::pass`.
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;
use zhongdui_domain::{GeoPoint, Skill, VolunteerId};
use zhongdui_matcher::{Certificate, MatcherConfig, Position, VolunteerIndex, VolunteerState};

use crate::entities::{assignment, user, volunteer, volunteer_skill};
use crate::error::ApiResult;
use crate::settings::DispatchSettings;
/// The volunteer index of this process and what goes with it (teams,
/// open offers, the reload journal); the pass logic is in `dispatch::pass`.
pub struct Dispatcher {
    // std locks: nothing awaits while holding them.
    pub(super) index: Mutex<VolunteerIndex>,
    pub(super) teams: Mutex<HashMap<VolunteerId, Uuid>>,
    /// Volunteers holding an open offer, as far as this process knows
    /// (reset from the database each pass; a hint, never a decision).
    pub(super) pending: Mutex<HashSet<VolunteerId>>,
    /// Offers sent here and not yet told to the other processes
    /// (volunteer, when), flushed by `location::tell_offers`.
    pub(super) untold: Mutex<Vec<(Uuid, i64)>>,
    /// Changes applied to the index while a reload reads the database
    /// (`Some` during a reload): replayed onto the fresh index before it
    /// replaces the old one, so a reload never loses a change made while it
    /// runs. Lock order everywhere: index, then journal.
    pub(super) journal: Mutex<Option<Vec<Change>>>,
    /// One reload at a time.
    pub(super) reloading: tokio::sync::Mutex<()>,
    /// Serialises passes within this process.
    pub(super) pass: tokio::sync::Mutex<()>,
    /// Woken when an order is created or an offer declined.
    pub wake: tokio::sync::Notify,
    /// The window of the reliability tie-breaker (days; 0: off).
    reliability_days: i64,
    /// The second (Unix) whose rota boundaries this process last applied.
    pub(super) shifts_second: std::sync::atomic::AtomicI64,
}

/// A change to the index, kept while a reload runs.
pub(super) enum Change {
    Upsert(VolunteerState),
    Remove(VolunteerId),
    Location(VolunteerId, GeoPoint, i64),
    Tasks(VolunteerId, u32, u32, i64),
    Offer(VolunteerId, i64),
    Reliability(VolunteerId, u8),
}

impl Change {
    pub(super) fn apply(self, index: &mut VolunteerIndex) {
        match self {
            Change::Upsert(s) => index.upsert(s),
            Change::Remove(id) => {
                index.remove(id);
            }
            Change::Location(id, at, ts) => {
                let _ = index.set_location(id, at, ts);
            }
            Change::Tasks(id, tasks, capacity, ts) => {
                let _ = index
                    .set_active_tasks(id, tasks, ts)
                    .and_then(|()| index.set_capacity(id, capacity));
            }
            Change::Offer(id, ts) => {
                let _ = index.record_offer(id, ts);
            }
            Change::Reliability(id, score) => {
                let _ = index.set_reliability(id, score);
            }
        }
    }
}

fn matcher_config(d: &DispatchSettings) -> MatcherConfig {
    MatcherConfig {
        max_location_age_s: d.max_location_age_secs,
        fairness_epsilon_m: d.fairness_epsilon_m,
        max_offers_per_hour: (d.max_offers_per_hour > 0).then_some(d.max_offers_per_hour),
        offer_penalty_m: d.offer_penalty_m,
        offer_penalty_max_m: d.offer_penalty_max_m,
        ..MatcherConfig::default()
    }
}

/// The end of `d` in the city's calendar (China time): a certificate valid
/// until `d` stops counting at the next China midnight.
fn end_of_day(d: chrono::NaiveDate) -> i64 {
    crate::clock::local_day_start(d + Duration::days(1)).map_or_else(
        // Unreachable for a fixed offset; fall back to UTC+8 by hand.
        |_| {
            (d + Duration::days(1))
                .and_time(NaiveTime::MIN)
                .and_utc()
                .timestamp()
                - 8 * 3600
        },
        |t| t.timestamp(),
    )
}

/// Builds the matcher's view of a volunteer from database rows.
pub fn state_of(v: &volunteer::Model, skills: &[volunteer_skill::Model]) -> VolunteerState {
    let mut s = VolunteerState::new(VolunteerId(v.id));
    s.position = match (v.lat, v.lon, v.location_at) {
        (Some(lat), Some(lon), Some(at)) => GeoPoint::parse(lat, lon).ok().map(|p| Position {
            at: p,
            seen_at: at.timestamp(),
        }),
        _ => None,
    };
    s.on_duty = v.on_duty;
    s.active_tasks = u32::try_from(v.active_tasks.max(0)).unwrap_or(0);
    s.capacity = u32::try_from(v.capacity.max(0)).unwrap_or(0);
    for row in skills {
        if let Ok(skill) = row.skill.parse::<Skill>() {
            // A skill that needs a certificate counts only with one.
            if skill.needs_certificate() && row.certified_until.is_none() {
                continue;
            }
            s.skills = s.skills.with(skill);
            if let Some(until) = row.certified_until {
                s.certificates.push(Certificate {
                    skill,
                    expires_at: end_of_day(until),
                });
            }
        }
    }
    s.idle_since = v.idle_since.map(|t| t.timestamp()).unwrap_or(0);
    s
}

/// The volunteers who may be offered work (all, or those among `ids`):
/// their rows and the matcher's view of each, in the same order. Disabled
/// accounts are left out.
async fn candidates<C: ConnectionTrait>(
    db: &C,
    ids: Option<&[Uuid]>,
) -> ApiResult<(Vec<volunteer::Model>, Vec<VolunteerState>)> {
    let disabled = disabled_accounts(db, ids).await?;
    let mut vq = volunteer::Entity::find();
    let mut sq = volunteer_skill::Entity::find();
    if let Some(ids) = ids {
        vq = vq.filter(volunteer::Column::Id.is_in(ids.to_vec()));
        sq = sq.filter(volunteer_skill::Column::VolunteerId.is_in(ids.to_vec()));
    }
    let vols: Vec<volunteer::Model> = vq
        .all(db)
        .await?
        .into_iter()
        .filter(|v| !disabled.contains(&v.id))
        .collect();
    let mut skills: HashMap<Uuid, Vec<volunteer_skill::Model>> = HashMap::new();
    for s in sq.all(db).await? {
        skills.entry(s.volunteer_id).or_default().push(s);
    }
    let states = vols
        .iter()
        .map(|v| state_of(v, skills.get(&v.id).map(Vec::as_slice).unwrap_or(&[])))
        .collect();
    Ok((vols, states))
}

/// The disabled accounts (among `ids`, if given).
async fn disabled_accounts<C: ConnectionTrait>(
    db: &C,
    ids: Option<&[Uuid]>,
) -> ApiResult<HashSet<Uuid>> {
    let mut q = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Disabled.eq(true));
    if let Some(ids) = ids {
        q = q.filter(user::Column::Id.is_in(ids.to_vec()));
    }
    let rows: Vec<Uuid> = q.into_tuple().all(db).await?;
    Ok(rows.into_iter().collect())
}

impl Dispatcher {
    /// An empty engine; call [`Dispatcher::reload`] before use.
    pub fn new(d: &DispatchSettings) -> Self {
        Self {
            index: Mutex::new(VolunteerIndex::new(matcher_config(d))),
            teams: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashSet::new()),
            untold: Mutex::new(Vec::new()),
            journal: Mutex::new(None),
            reloading: tokio::sync::Mutex::new(()),
            pass: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            reliability_days: d.reliability_days,
            shifts_second: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// Rebuilds the index from the database (at start, and after bulk changes).
    pub async fn reload<C: ConnectionTrait>(
        &self,
        db: &C,
        d: &DispatchSettings,
        now: DateTime<Utc>,
    ) -> ApiResult<usize> {
        let _one = self.reloading.lock().await;
        // From here on, changes to the index are also journaled.
        if let Ok(mut j) = self.journal.lock() {
            *j = Some(Vec::new());
        }
        let result = self.reload_inner(db, d, now).await;
        if result.is_err()
            && let Ok(mut j) = self.journal.lock()
        {
            *j = None;
        }
        result
    }

    async fn reload_inner<C: ConnectionTrait>(
        &self,
        db: &C,
        d: &DispatchSettings,
        now: DateTime<Utc>,
    ) -> ApiResult<usize> {
        let (vols, states) = candidates(db, None).await?;
        let teams: HashMap<VolunteerId, Uuid> = vols
            .iter()
            .map(|v| (VolunteerId(v.id), v.team_id))
            .collect();
        let n = states.len();
        let mut fresh = VolunteerIndex::bulk_load(matcher_config(d), states);
        if self.reliability_days > 0 {
            for (id, r) in super::reliability::of(db, None, self.reliability_days, now).await? {
                fresh.set_reliability(VolunteerId(id), r.score);
            }
        }
        // The hourly offer cap counts the offers of the last hour from the
        // database, so that it survives reloads and restarts and counts the
        // offers of every process.
        let since = now - Duration::seconds(zhongdui_matcher::OFFER_WINDOW_S);
        let paged: Vec<(Uuid, DateTime<Utc>)> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::VolunteerId)
            .column(assignment::Column::OfferedAt)
            .filter(assignment::Column::How.is_in(["offer", "batch"]))
            .filter(assignment::Column::OfferedAt.gt(since))
            .filter(assignment::Column::OfferedAt.lte(now))
            .order_by_asc(assignment::Column::OfferedAt)
            .into_tuple()
            .all(db)
            .await?;
        for (v, at) in paged {
            let _ = fresh.record_offer(VolunteerId(v), at.timestamp());
        }
        if d.reload_pause_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(d.reload_pause_ms)).await;
        }
        // Swap, after replaying what changed meanwhile (under the index
        // lock, so no change falls between the replay and the swap).
        if let Ok(mut index) = self.index.lock() {
            let changes = self
                .journal
                .lock()
                .map(|mut j| j.take().unwrap_or_default())
                .unwrap_or_default();
            let replayed = changes.len();
            for c in changes {
                c.apply(&mut fresh);
            }
            *index = fresh;
            metrics::counter!("index_reload_replayed_changes_total").increment(replayed as u64);
        }
        if let Ok(mut t) = self.teams.lock() {
            *t = teams;
        }
        Ok(n)
    }

    /// Re-reads some volunteers into the index (after a change to them).
    pub async fn refresh<C: ConnectionTrait>(&self, db: &C, ids: &[Uuid]) -> ApiResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // A disabled account is no candidate: it leaves the index.
        let (vols, states) = candidates(db, Some(ids)).await?;
        let scores = if self.reliability_days > 0 {
            let days = self.reliability_days;
            let mut known =
                super::reliability::of(db, Some(ids), days, crate::clock::wall()).await?;
            ids.iter()
                .map(|id| {
                    let r = known
                        .remove(id)
                        .unwrap_or_else(|| super::reliability::newcomer(days));
                    (VolunteerId(*id), r.score)
                })
                .collect()
        } else {
            Vec::new()
        };
        if let Ok(mut pending) = self.pending.lock() {
            for id in ids {
                pending.remove(&VolunteerId(*id));
            }
        }
        let found: HashSet<Uuid> = vols.iter().map(|v| v.id).collect();
        if let Ok(mut index) = self.index.lock() {
            for s in states {
                self.journal(|| Change::Upsert(s.clone()));
                index.upsert(s);
            }
            for (id, score) in scores {
                self.journal(|| Change::Reliability(id, score));
                index.set_reliability(id, score);
            }
            for id in ids.iter().filter(|id| !found.contains(id)) {
                self.journal(|| Change::Remove(VolunteerId(*id)));
                index.remove(VolunteerId(*id));
            }
        }
        if let Ok(mut t) = self.teams.lock() {
            for v in &vols {
                t.insert(VolunteerId(v.id), v.team_id);
            }
        }
        Ok(())
    }

    /// Sets a volunteer's task count and capacity as stored (after a claim,
    /// here or in another process); a volunteer not in the index is read at
    /// the next refresh or reload.
    pub fn set_tasks(&self, id: Uuid, active_tasks: i32, capacity: i32, now: i64) {
        let id = VolunteerId(id);
        let tasks = u32::try_from(active_tasks.max(0)).unwrap_or(0);
        let capacity = u32::try_from(capacity.max(0)).unwrap_or(0);
        // Lock order everywhere: index, then pending.
        if let Ok(mut index) = self.index.lock() {
            self.journal(|| Change::Tasks(id, tasks, capacity, now));
            let _ = index
                .set_active_tasks(id, tasks, now)
                .and_then(|()| index.set_capacity(id, capacity));
        }
        // It answered its offer (as `refresh` does for re-read volunteers).
        if let Ok(mut pending) = self.pending.lock() {
            pending.remove(&id);
        }
    }

    /// A volunteer's task count and capacity in the index.
    pub fn tasks_of(&self, id: Uuid) -> Option<(u32, u32)> {
        let index = self.index.lock().ok()?;
        index
            .get(VolunteerId(id))
            .map(|v| (v.active_tasks, v.capacity))
    }

    /// Takes the offers not yet told to the other processes.
    pub fn take_untold_offers(&self) -> Vec<(Uuid, i64)> {
        self.untold
            .lock()
            .map(|mut u| std::mem::take(&mut *u))
            .unwrap_or_default()
    }

    /// Offers another process sent (volunteer, when): they count towards
    /// the hourly cap here too, and their volunteers get no second offer
    /// from this process until they answer.
    pub fn peer_offered(&self, offers: &[(Uuid, i64)]) {
        // Lock order everywhere: index, then pending.
        if let Ok(mut index) = self.index.lock() {
            for (id, ts) in offers {
                self.journal(|| Change::Offer(VolunteerId(*id), *ts));
                let _ = index.record_offer(VolunteerId(*id), *ts);
            }
        }
        if let Ok(mut pending) = self.pending.lock() {
            pending.extend(offers.iter().map(|(id, _)| VolunteerId(*id)));
        }
    }

    /// Volunteers whose open offers were withdrawn (the order filled, was
    /// cancelled or escalated): free for another offer at once.
    pub fn release(&self, ids: &[Uuid]) {
        if let Ok(mut pending) = self.pending.lock() {
            for id in ids {
                pending.remove(&VolunteerId(*id));
            }
        }
    }

    /// Whether this process holds `id` back as having an open offer.
    pub fn is_pending(&self, id: Uuid) -> bool {
        self.pending
            .lock()
            .is_ok_and(|p| p.contains(&VolunteerId(id)))
    }

    /// Offers recorded for a volunteer in the hour before `now`.
    pub fn offers_of(&self, id: Uuid, now: i64) -> Option<usize> {
        let index = self.index.lock().ok()?;
        index
            .contains(VolunteerId(id))
            .then(|| index.offers_in_last_hour(VolunteerId(id), now))
    }

    /// Moves a volunteer in the index.
    pub fn set_location(&self, id: Uuid, at: GeoPoint, seen: DateTime<Utc>) {
        if let Ok(mut index) = self.index.lock() {
            self.journal(|| Change::Location(VolunteerId(id), at, seen.timestamp()));
            let _ = index.set_location(VolunteerId(id), at, seen.timestamp());
        }
    }

    /// Records `change` for the reload in progress, if any. Called with the
    /// index lock held (lock order: index, then journal).
    pub(super) fn journal(&self, change: impl FnOnce() -> Change) {
        if let Ok(mut j) = self.journal.lock()
            && let Some(list) = j.as_mut()
        {
            list.push(change());
        }
    }

    /// Where the index thinks a volunteer is.
    pub fn position_of(&self, id: VolunteerId) -> Option<(f64, f64)> {
        let index = self.index.lock().ok()?;
        let p = index.get(id)?.position?;
        Some((p.at.lat(), p.at.lon()))
    }

    /// Number of volunteers indexed.
    pub fn indexed(&self) -> usize {
        self.index.lock().map(|i| i.len()).unwrap_or(0)
    }
}
