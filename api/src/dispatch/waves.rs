//! Waves: who is offered an order and when. A new order's first wave is
//! planned before its row is written (without a batch window); later waves
//! widen the radius ring by ring (a slip's target team first), and orders
//! that arrived within the batch window are assigned jointly. Every row is
//! written with one statement per table, and every claim is still decided
//! by conditional updates in the database.
//!
//! The file runs past 600 lines because `run_waves` is long on purpose:
//! it is the pass's hot path (one index
//! lock, one read of the due orders, the batch, then one write), and
//! splitting it would mean handing the lock and the half-built plans
//! between functions.
use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use uuid::Uuid;
use zhongdui_domain::{OrderAction, OrderStatus, Skill, SkillSet, Urgency, VolunteerId};
use zhongdui_matcher::{BatchOrder, BatchParams, Exclude, Query, assign_batch};

use crate::entities::{assignment, order};
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::Work;
use crate::messages::Push;
use crate::services::orders::{self, Actor};
use crate::settings::DispatchSettings;
use crate::state::AppState;
use zhongdui_domain::AssignmentState;

use super::index::{Change, Dispatcher};
/// What one pass did (for tests, logs and metrics).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    /// Offers that ran out of time.
    pub expired: usize,
    /// Waves started.
    pub waves: usize,
    /// Offers written.
    pub offers: usize,
    /// Orders escalated to coordinators.
    pub escalated: usize,
    /// Orders closed without confirmation.
    pub auto_closed: usize,
    /// New orders assigned jointly in this pass.
    pub batched: usize,
    /// Volunteers found overdue (not on scene when expected).
    pub overdue: usize,
    /// Rota boundaries applied (members of shifts begun or ended).
    pub shifts: usize,
}

/// A volunteer to offer an order: who, how far, and in which role (on an
/// order with roles).
type Pick = (VolunteerId, f64, Option<Skill>);

/// A wave about to be written.
struct Planned<'a> {
    order: &'a order::Model,
    wave: i32,
    plan: WavePlan,
    picks: Vec<Pick>,
    /// The order was inserted with this wave already (no update needed).
    fresh: bool,
}

/// An offer of `o` to `vid`, `dist` metres away, in `role`, as wave
/// `wave.0` made `wave.1` (`offer`, `batch`), running out at `deadline`;
/// `replaces` names the overdue assignment a replacement offer would take over.
#[allow(clippy::too_many_arguments)]
pub(super) fn offer_row(
    o: &order::Model,
    vid: VolunteerId,
    dist: f64,
    role: Option<Skill>,
    wave: (i32, &str),
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
    replaces: Option<Uuid>,
) -> (Uuid, assignment::ActiveModel) {
    let id = Uuid::now_v7();
    let row = assignment::ActiveModel {
        id: Set(id),
        order_id: Set(o.id),
        volunteer_id: Set(vid.as_uuid()),
        state: Set(AssignmentState::Offered.code().to_owned()),
        how: Set(wave.1.to_owned()),
        wave: Set(wave.0),
        distance_m: Set(Some(dist)),
        offered_at: Set(now),
        deadline: Set(Some(deadline)),
        responded_at: Set(None),
        arrived_at: Set(None),
        completed_at: Set(None),
        note: Set(None),
        assigned_by: Set(None),
        role: Set(role.map(|r| r.code().to_owned())),
        expected_by: Set(None),
        overdue_at: Set(None),
        replaces: Set(replaces),
        created_at: Set(now),
        updated_at: Set(now),
    };
    (id, row)
}

/// What the volunteer's page is told of offer `id` (see [`offer_row`]).
pub(super) fn offer_push(
    o: &order::Model,
    id: Uuid,
    dist: f64,
    deadline: DateTime<Utc>,
    role: Option<Skill>,
) -> Push {
    Push::Offer {
        offer_id: id,
        order_id: o.id,
        code: o.code.clone(),
        category: o.category.clone(),
        urgency: o.urgency.clone(),
        address: o.address.clone(),
        description: o.description.clone(),
        lat: o.lat,
        lon: o.lon,
        distance_m: dist.round(),
        deadline: deadline.to_rfc3339(),
        role: role.map(|r| r.code().to_owned()),
    }
}

/// A new order's first wave, planned before the order is written.
pub struct FirstWave {
    /// The wave number (1 unless the nearest rings had nobody free).
    pub wave: i32,
    /// When the dispatcher looks at the order again.
    pub next_action_at: DateTime<Utc>,
    plan: WavePlan,
    picks: Vec<Pick>,
}

/// One wave's plan.
struct WavePlan {
    radius_m: f64,
    /// The teams whose members alone are asked (empty: everyone).
    team_only: Vec<Uuid>,
}

fn plan(d: &DispatchSettings, o: &order::Model, wave: i32) -> Option<WavePlan> {
    let max_radius = d.radii_m.iter().copied().fold(0.0, f64::max);
    // The orders a pass runs have been checked, so their teams read.
    let teams = o.target_teams().unwrap_or_default();
    let ladder_step = match teams.is_empty() {
        false if wave == 1 => {
            return Some(WavePlan {
                radius_m: max_radius.max(50_000.0),
                team_only: teams,
            });
        }
        false => wave - 2,
        true => wave - 1,
    };
    let step = usize::try_from(ladder_step).ok()?;
    d.radii_m.get(step).map(|&radius_m| WavePlan {
        radius_m,
        team_only: Vec::new(),
    })
}

/// Offers per missing volunteer in a wave. The orders a pass runs have
/// been checked ([`order::Model::check`]), so their urgency reads.
pub(super) fn wave_factor(d: &DispatchSettings, o: &order::Model) -> usize {
    let factor = match o.urgency().unwrap_or_default() {
        Urgency::Low => d.wave_factor.low,
        Urgency::Normal => d.wave_factor.normal,
        Urgency::Urgent => d.wave_factor.urgent,
        Urgency::Critical => d.wave_factor.critical,
    };
    usize::try_from(factor.max(1)).unwrap_or(1)
}

/// A place of an order still to fill: its role (on an order with roles),
/// the skills it needs and how many volunteers are missing.
struct Slot {
    role: Option<Skill>,
    skills: SkillSet,
    missing: usize,
}

/// The places of `o` still to fill, `filled` holding how many are on it
/// per role: one slot per role with room, or one for an order without roles.
fn open_slots(o: &order::Model, filled: Option<&HashMap<Skill, i32>>) -> ApiResult<Vec<Slot>> {
    let slots = o.slots()?;
    Ok(slots
        .into_iter()
        .filter_map(|(role, skills, count)| {
            let missing = match role {
                None => (o.headcount - o.filled).max(1),
                Some(r) => count - filled.and_then(|f| f.get(&r)).copied().unwrap_or(0),
            };
            (missing > 0).then(|| Slot {
                role,
                skills,
                missing: usize::try_from(missing).unwrap_or(1),
            })
        })
        .collect())
}

impl Dispatcher {
    /// Plans a new order's first wave before the order is written (used when
    /// batching is off), so that the order row is inserted with its wave and
    /// the offers go out in the transaction that creates it. Volunteers
    /// holding an open offer are skipped. None when nobody is available
    /// nearby (the dispatcher's next pass then widens the radius or
    /// escalates) or the order goes to a team first.
    pub async fn plan_first_wave<C: ConnectionTrait>(
        &self,
        db: &C,
        state: &AppState,
        o: &order::Model,
        now: DateTime<Utc>,
    ) -> ApiResult<Option<FirstWave>> {
        let d = &state.settings.dispatch;
        if o.target_team_id.is_some() {
            return Ok(None);
        }
        let ts = now.timestamp();
        let factor = wave_factor(d, o);
        let slots = open_slots(o, None)?;
        for wave in 1.. {
            let Some(p) = plan(d, o, wave) else {
                return Ok(None);
            };
            // Each role's nearest, under one lock.
            let per_slot = {
                // Lock order everywhere: index, then pending.
                let index = self
                    .index
                    .lock()
                    .map_err(|_| ApiError::Internal(anyhow::anyhow!("index lock poisoned")))?;
                let pending = self
                    .pending
                    .lock()
                    .map_err(|_| ApiError::Internal(anyhow::anyhow!("pending lock poisoned")))?;
                slots
                    .iter()
                    .map(|slot| -> ApiResult<_> {
                        let want = slot.missing * factor;
                        Ok(index.nearest_available(
                            &Query::new(o.point()?, slot.skills, want * 4, ts)
                                .within_m(p.radius_m)
                                .excluding(Exclude::Set(&pending)),
                        ))
                    })
                    .collect::<ApiResult<Vec<_>>>()?
            };
            if per_slot.iter().all(Vec::is_empty) {
                continue;
            }
            let ids: Vec<Uuid> = per_slot.iter().flatten().map(|c| c.id.as_uuid()).collect();
            let busy: HashSet<Uuid> = assignment::Entity::find()
                .select_only()
                .column(assignment::Column::VolunteerId)
                .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
                .filter(assignment::Column::Deadline.gt(now))
                .filter(assignment::Column::VolunteerId.is_in(ids))
                .into_tuple()
                .all(db)
                .await?
                .into_iter()
                .collect();
            // A volunteer is offered one role at most.
            let mut picks: Vec<Pick> = Vec::new();
            for (slot, candidates) in slots.iter().zip(per_slot) {
                let fresh: Vec<Pick> = candidates
                    .into_iter()
                    .filter(|c| !busy.contains(&c.id.as_uuid()))
                    .filter(|c| !picks.iter().any(|p| p.0 == c.id))
                    .take(slot.missing * factor)
                    .map(|c| (c.id, c.distance_m, slot.role))
                    .collect();
                picks.extend(fresh);
            }
            if picks.is_empty() {
                continue;
            }
            let next = now + Duration::seconds(d.offer_timeout_secs);
            return Ok(Some(FirstWave {
                wave,
                next_action_at: next,
                plan: p,
                picks,
            }));
        }
        Ok(None)
    }

    /// Writes a first wave planned by [`Dispatcher::plan_first_wave`] for an
    /// order just inserted with it, together with the order's announcement
    /// (one statement per table).
    pub async fn write_first_wave<C: ConnectionTrait>(
        &self,
        db: &C,
        state: &AppState,
        o: &order::Model,
        first: FirstWave,
        announce: orders::Trail,
        now: DateTime<Utc>,
    ) -> ApiResult<()> {
        let planned = [Planned {
            order: o,
            wave: first.wave,
            plan: first.plan,
            picks: first.picks,
            fresh: true,
        }];
        Self::write_waves_on(db, state, &planned, announce, now).await?;
        let offers = self.note_offers(&planned, now.timestamp());
        metrics::counter!("dispatch_offers_total").increment(offers as u64);
        Ok(())
    }

    /// After waves are written: their volunteers hold an open offer (skipped
    /// until it is answered) and were paged at `ts` (fairness, hourly cap),
    /// here and, from the next flush of `location::tell_offers`, in the
    /// other processes. Returns how many offers went out.
    fn note_offers<'a, 'o: 'a>(
        &self,
        waves: impl IntoIterator<Item = &'a Planned<'o>>,
        ts: i64,
    ) -> usize {
        let mut offers = 0;
        for w in waves {
            let ids: Vec<VolunteerId> = w.picks.iter().map(|(id, _, _)| *id).collect();
            self.note_picks(&ids, ts);
            offers += ids.len();
        }
        offers
    }

    /// Volunteers `ids` were offered an order at `ts` (see [`Dispatcher::note_offers`]).
    pub(super) fn note_picks(&self, ids: &[VolunteerId], ts: i64) {
        // Lock order everywhere: index, then pending, then untold.
        if let Ok(mut index) = self.index.lock() {
            let mut pending = self.pending.lock().ok();
            let mut untold = self.untold.lock().ok();
            if let Some(p) = pending.as_mut() {
                p.extend(ids.iter().copied());
            }
            if let Some(u) = untold.as_mut() {
                u.extend(ids.iter().map(|id| (id.as_uuid(), ts)));
            }
            for id in ids {
                self.journal(|| Change::Offer(*id, ts));
                let _ = index.record_offer(*id, ts);
            }
        }
    }

    pub(super) async fn run_waves(
        &self,
        state: &AppState,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> ApiResult<()> {
        let d = &state.settings.dispatch;
        let due = order::Entity::find()
            .filter(order::Column::Status.eq(OrderStatus::Open.code()))
            .filter(order::Column::NextActionAt.lte(now))
            .order_by_asc(order::Column::NextActionAt)
            .limit(500)
            .all(&state.db)
            .await?;
        if due.is_empty() {
            return Ok(());
        }
        // If any new order is due, every waiting new order joins its batch.
        let mut orders_to_run = due;
        if orders_to_run.iter().any(|o| o.wave == 0) {
            let known: HashSet<Uuid> = orders_to_run.iter().map(|o| o.id).collect();
            let waiting = order::Entity::find()
                .filter(order::Column::Status.eq(OrderStatus::Open.code()))
                .filter(order::Column::Wave.eq(0))
                .limit(500)
                .all(&state.db)
                .await?;
            orders_to_run.extend(waiting.into_iter().filter(|o| !known.contains(&o.id)));
        }
        // Volunteers holding an open offer get no second one.
        let busy_rows: Vec<Uuid> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::VolunteerId)
            .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
            .filter(assignment::Column::Deadline.gt(now))
            .into_tuple()
            .all(&state.db)
            .await?;
        let mut busy: HashSet<VolunteerId> = busy_rows.into_iter().map(VolunteerId).collect();
        if let Ok(mut pending) = self.pending.lock() {
            pending.clone_from(&busy);
        }

        // A corrupt row skips its order (logged each pass), not the pass.
        orders_to_run.retain(|o| {
            o.check()
                .inspect_err(|e| tracing::error!(order_id = %o.id, error = %e, "order skipped"))
                .is_ok()
        });

        // Everyone already asked, per order, and who fills which role.
        let ids: Vec<Uuid> = orders_to_run.iter().map(|o| o.id).collect();
        let mut asked: HashMap<Uuid, HashSet<VolunteerId>> = HashMap::new();
        let mut in_roles: HashMap<Uuid, HashMap<Skill, i32>> = HashMap::new();
        for chunk in ids.chunks(300) {
            let rows: Vec<(Uuid, Uuid, String, Option<String>)> = assignment::Entity::find()
                .select_only()
                .column(assignment::Column::OrderId)
                .column(assignment::Column::VolunteerId)
                .column(assignment::Column::State)
                .column(assignment::Column::Role)
                .filter(assignment::Column::OrderId.is_in(chunk.to_vec()))
                .into_tuple()
                .all(&state.db)
                .await?;
            for (o, v, st, role) in rows {
                asked.entry(o).or_default().insert(VolunteerId(v));
                let on_it = st.parse::<AssignmentState>().is_ok_and(|s| s.is_on_order());
                if let (true, Some(r)) = (on_it, role.and_then(|r| r.parse::<Skill>().ok())) {
                    *in_roles.entry(o).or_default().entry(r).or_default() += 1;
                }
            }
        }
        // Outstanding offers per order.
        let outstanding: HashSet<Uuid> = assignment::Entity::find()
            .select_only()
            .column(assignment::Column::OrderId)
            .filter(assignment::Column::State.eq(AssignmentState::Offered.code()))
            .filter(assignment::Column::Deadline.gt(now))
            .filter(assignment::Column::OrderId.is_in(ids.clone()))
            .into_tuple::<Uuid>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect();

        let ts = now.timestamp();
        // Joint assignment of the new orders' first waves (min total distance).
        let new_orders: Vec<&order::Model> = orders_to_run
            .iter()
            .filter(|o| o.wave == 0 && o.target_team_id.is_none())
            .collect();
        // Joint assignment over neighbourhoods: orders whose first-wave
        // discs overlap (and so may compete for the same volunteers) are
        // solved together, whole, up to `batch_max_orders`; a larger
        // neighbourhood is cut into spatially sorted chunks, later chunks
        // skipping volunteers an earlier one took.
        let mut primary: HashMap<Uuid, Vec<Pick>> = HashMap::new();
        let mut reserved: HashSet<VolunteerId> = HashSet::new();
        if new_orders.len() > 1 {
            let radius = |o: &order::Model| plan(d, o, 1).map(|p| p.radius_m).unwrap_or(0.0);
            for group in neighbourhoods(&new_orders, radius, d.batch_max_orders.max(2)) {
                if group.len() < 2 {
                    continue;
                }
                let taken = |id: VolunteerId| busy.contains(&id) || reserved.contains(&id);
                // Each role of an order is a place of its own in the batch.
                let mut places: Vec<(Uuid, Option<Skill>)> = Vec::new();
                let mut batch: Vec<BatchOrder<'_>> = Vec::new();
                for o in &group {
                    let radius = plan(d, o, 1).map(|p| p.radius_m).unwrap_or(0.0);
                    for slot in open_slots(o, in_roles.get(&o.id))? {
                        let need = match slot.role {
                            None => u32::try_from((o.headcount - o.filled).max(0)).unwrap_or(0),
                            Some(_) => u32::try_from(slot.missing).unwrap_or(0),
                        };
                        places.push((o.id, slot.role));
                        batch.push(
                            BatchOrder::new(o.point()?, need, slot.skills)
                                .within_m(radius)
                                .excluding(Exclude::Predicate(&taken)),
                        );
                    }
                }
                let result = {
                    let index = self
                        .index
                        .lock()
                        .map_err(|_| ApiError::Internal(anyhow::anyhow!("index lock poisoned")))?;
                    assign_batch(&index, &batch, &BatchParams::new(ts))
                };
                drop(batch);
                for ((order_id, role), picks) in places.into_iter().zip(result.assignments) {
                    reserved.extend(picks.iter().map(|c| c.id));
                    primary
                        .entry(order_id)
                        .or_default()
                        .extend(picks.into_iter().map(|c| (c.id, c.distance_m, role)));
                }
                report.batched += group.len();
            }
        }

        let mut planned: Vec<Planned<'_>> = Vec::new();
        for o in &orders_to_run {
            if o.wave > 0
                && outstanding.contains(&o.id)
                && o.next_action_at.is_some_and(|t| t > now)
            {
                continue;
            }
            let mut wave = o.wave + 1;
            let empty = HashSet::new();
            let already = asked.get(&o.id).unwrap_or(&empty);
            loop {
                let Some(p) = plan(d, o, wave) else {
                    // One order's trouble skips that order, not the pass.
                    match self.escalate(state, o, now).await {
                        Ok(true) => report.escalated += 1,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(order_id = %o.id, error = %e, "escalation skipped");
                        }
                    }
                    break;
                };
                let mut picks: Vec<Pick> = if wave == o.wave + 1 {
                    primary.remove(&o.id).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let factor = wave_factor(d, o);
                for slot in open_slots(o, in_roles.get(&o.id))? {
                    let want = slot.missing * factor;
                    let have = picks.iter().filter(|p| p.2 == slot.role).count();
                    if have >= want {
                        continue;
                    }
                    let mine: HashSet<VolunteerId> = picks.iter().map(|(id, _, _)| *id).collect();
                    let more = {
                        let teams = self.teams.lock().map_err(|_| {
                            ApiError::Internal(anyhow::anyhow!("teams lock poisoned"))
                        })?;
                        let skip = |id: VolunteerId| {
                            busy.contains(&id)
                                || already.contains(&id)
                                || mine.contains(&id)
                                || reserved.contains(&id)
                                || (!p.team_only.is_empty()
                                    && !teams.get(&id).is_some_and(|t| p.team_only.contains(t)))
                        };
                        let index = self.index.lock().map_err(|_| {
                            ApiError::Internal(anyhow::anyhow!("index lock poisoned"))
                        })?;
                        index.nearest_available(
                            &Query::new(o.point()?, slot.skills, want - have, ts)
                                .within_m(p.radius_m)
                                .excluding(Exclude::Predicate(&skip)),
                        )
                    };
                    picks.extend(more.into_iter().map(|c| (c.id, c.distance_m, slot.role)));
                }
                if picks.is_empty() {
                    wave += 1;
                    continue;
                }
                busy.extend(picks.iter().map(|(id, _, _)| *id));
                planned.push(Planned {
                    order: o,
                    wave,
                    plan: p,
                    picks,
                    fresh: false,
                });
                break;
            }
        }
        // Order rows are updated in id order in every process, so two
        // processes' wave writes never wait on each other in a cycle.
        planned.sort_by_key(|w| w.order.id);
        for chunk in planned.chunks(200) {
            let written = match self.write_waves(state, chunk, now).await {
                Ok(w) => w,
                Err(e) => {
                    // Another process got there first, or the database
                    // refused this chunk: the orders stay due for the next pass.
                    tracing::warn!(error = %e, orders = chunk.len(), "waves not written; retried next pass");
                    metrics::counter!("dispatch_wave_writes_failed_total").increment(1);
                    continue;
                }
            };
            let done: Vec<&Planned<'_>> = chunk
                .iter()
                .filter(|w| written.contains(&w.order.id))
                .collect();
            report.waves += done.len();
            report.offers += self.note_offers(done, ts);
        }
        Ok(())
    }

    /// Writes waves in one transaction (see [`Dispatcher::write_waves_on`]).
    async fn write_waves(
        &self,
        state: &AppState,
        waves: &[Planned<'_>],
        now: DateTime<Utc>,
    ) -> ApiResult<HashSet<Uuid>> {
        let txn = crate::db::begin_write(&state.db).await?;
        let written = Self::write_waves_on(
            &txn,
            state,
            waves,
            orders::Trail::new(Actor::SYSTEM, now),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(written)
    }

    /// Writes waves on `db`: each order is claimed by its version (another
    /// process may be running it; then it is skipped), its offers, pushes and
    /// event inserted in bulk after what `trail` already holds (a new
    /// order's announcement). Returns the orders written.
    async fn write_waves_on<C: ConnectionTrait>(
        db: &C,
        state: &AppState,
        waves: &[Planned<'_>],
        mut trail: orders::Trail,
        now: DateTime<Utc>,
    ) -> ApiResult<HashSet<Uuid>> {
        let d = &state.settings.dispatch;
        let deadline = now + Duration::seconds(d.offer_timeout_secs);
        let ch = state.channels();
        let mut written = HashSet::new();
        let mut offers = Vec::new();
        for w in waves {
            let o = w.order;
            let next = if !w.plan.team_only.is_empty() {
                now + Duration::seconds(d.team_first_secs.max(d.offer_timeout_secs))
            } else {
                deadline
            };
            if w.fresh {
                written.insert(o.id);
            } else if order::Entity::update_many()
                .col_expr(order::Column::Wave, Expr::value(w.wave))
                .col_expr(order::Column::NextActionAt, Expr::value(next))
                .col_expr(order::Column::Version, Expr::value(o.version + 1))
                .col_expr(order::Column::UpdatedAt, Expr::value(now))
                .filter(order::Column::Id.eq(o.id))
                .filter(order::Column::Version.eq(o.version))
                .filter(order::Column::Status.eq(OrderStatus::Open.code()))
                .exec(db)
                .await?
                .rows_affected
                == 0
            {
                continue;
            } else {
                written.insert(o.id);
            }
            let how = if o.wave == 0 { "batch" } else { "offer" };
            for (vid, dist, role) in &w.picks {
                let (id, row) =
                    offer_row(o, *vid, *dist, *role, (w.wave, how), now, deadline, None);
                offers.push(row);
                trail.push(
                    ch.volunteer(vid.as_uuid()),
                    &offer_push(o, id, *dist, deadline, *role),
                );
            }
            // The dispatcher's, also when written with a new order's announcement.
            trail.event_by(
                Actor::SYSTEM,
                o.id,
                "wave_started",
                None,
                None,
                json!({"wave": w.wave, "radius_m": w.plan.radius_m,
                    "team_only": w.plan.team_only.first().map(Uuid::to_string),
                    "team_ids": w.plan.team_only.iter().map(Uuid::to_string).collect::<Vec<_>>(),
                    "offered": w.picks.iter().map(|(id, _, _)| id.to_string()).collect::<Vec<_>>(),
                    "roles": w.picks.iter().map(|(_, _, r)| r.map(Skill::code)).collect::<Vec<_>>(),
                    "deadline": deadline.to_rfc3339()}),
            );
        }
        for chunk in offers.chunks(300) {
            assignment::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(db)
                .await?;
        }
        trail.write(db).await?;
        Ok(written)
    }

    /// Escalates `o` if it is still as read; false when another process (or
    /// a claim) changed it meanwhile, which is not an error.
    pub(super) async fn escalate(
        &self,
        state: &AppState,
        o: &order::Model,
        now: DateTime<Utc>,
    ) -> ApiResult<bool> {
        let mut work = Work::begin_at(state, Actor::SYSTEM, now).await?;
        let txn = &work.txn;
        // Lock the row (PostgreSQL) so the version read is the one updated.
        let mut q = order::Entity::find_by_id(o.id);
        if txn.get_database_backend() == sea_orm::DbBackend::Postgres {
            q = q.lock_exclusive();
        }
        let Some(fresh) = q.one(txn).await? else {
            work.rollback().await?;
            return Ok(false);
        };
        if fresh.version != o.version || fresh.status != OrderStatus::Open.code() {
            work.rollback().await?;
            return Ok(false);
        }
        let moved = orders::transition(
            txn,
            &fresh,
            OrderAction::Escalate,
            vec![
                (order::Column::EscalatedAt, Some(now).into()),
                (
                    order::Column::NextActionAt,
                    Option::<DateTime<Utc>>::None.into(),
                ),
            ],
            json!({"after_wave": fresh.wave}),
            work.channels(),
            work.trail(),
        )
        .await;
        match moved {
            Ok(_) => {}
            Err(ApiError::Conflict(_)) => {
                work.rollback().await?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
        let withdrawn =
            orders::withdraw_open_offers(txn, o.id, "escalated", now, work.channels()).await?;
        work.released(&withdrawn);
        work.commit().await?;
        tracing::info!(order_id = %o.id, code = %o.code, "order escalated to coordinators");
        Ok(true)
    }
}

/// Splits `orders` into groups that may compete for volunteers: two orders
/// are neighbours when their discs (`radius` each) overlap, and a group is
/// a connected set of neighbours (union–find). A group larger than `max` is
/// cut into chunks of `max` along a ~2 km grid. Groups keep the orders'
/// arrival order within a chunk.
pub(super) fn neighbourhoods<'o>(
    orders: &[&'o order::Model],
    radius: impl Fn(&order::Model) -> f64,
    max: usize,
) -> Vec<Vec<&'o order::Model>> {
    let n = orders.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let at: Vec<Option<(zhongdui_domain::GeoPoint, f64)>> = orders
        .iter()
        .map(|o| o.point().ok().map(|p| (p, radius(o))))
        .collect();
    for i in 0..n {
        for j in i + 1..n {
            if let (Some((a, ra)), Some((b, rb))) = (at[i], at[j])
                && a.distance_m(&b) <= ra + rb
            {
                let (x, y) = (root(&mut parent, i), root(&mut parent, j));
                if x != y {
                    parent[x] = y;
                }
            }
        }
    }
    let mut groups: HashMap<usize, Vec<&'o order::Model>> = HashMap::new();
    for (i, o) in orders.iter().enumerate() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(*o);
    }
    let mut out: Vec<Vec<&'o order::Model>> = Vec::new();
    let mut keys: Vec<usize> = groups.keys().copied().collect();
    keys.sort_unstable();
    for k in keys {
        let Some(mut g) = groups.remove(&k) else {
            continue;
        };
        g.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        if g.len() <= max {
            out.push(g);
            continue;
        }
        let cell =
            |o: &order::Model| ((o.lat * 50.0).floor() as i64, (o.lon * 50.0).floor() as i64);
        g.sort_by(|a, b| cell(a).cmp(&cell(b)).then(a.created_at.cmp(&b.created_at)));
        out.extend(g.chunks(max).map(<[_]>::to_vec));
    }
    out
}
