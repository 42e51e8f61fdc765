//! The volunteer index: a slab of volunteer states plus R-trees over the
//! volunteers that can be found (on duty, with a location).
use std::cmp::Ordering;
use std::collections::hash_map::Entry as Entry_;
use std::collections::{BTreeSet, BinaryHeap, HashMap, HashSet};
use std::fmt;

use rstar::{ParentNode, RTreeNode};
use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};

use crate::geom::{EARTH_RADIUS_M, Entry, chord2_limit, dist2, embed};
use crate::lane::Lane;
use crate::state::{MatcherConfig, OFFER_WINDOW_S, Position, UnixTime, VolunteerState};

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MatcherError {
    /// No volunteer with this id is in the index (use
    /// [`VolunteerIndex::upsert`] to add one).
    UnknownVolunteer(VolunteerId),
}

impl fmt::Display for MatcherError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MatcherError::UnknownVolunteer(id) => write!(f, "volunteer {id} is not in the index"),
        }
    }
}

impl std::error::Error for MatcherError {}

/// Volunteers a query must skip, typically those already offered the order
/// or who declined it. Cheap to copy; borrow whatever collection you have.
#[derive(Clone, Copy, Default)]
pub enum Exclude<'a> {
    /// Skip nobody.
    #[default]
    Nobody,
    /// Skip these (linear lookup: fine for a few dozen).
    Ids(&'a [VolunteerId]),
    /// Skip the members of this set.
    Set(&'a HashSet<VolunteerId>),
    /// Skip the members of this ordered set.
    Sorted(&'a BTreeSet<VolunteerId>),
    /// Skip those for which the predicate returns `true`.
    Predicate(&'a dyn Fn(VolunteerId) -> bool),
}

impl Exclude<'_> {
    /// Whether `id` is to be skipped.
    #[inline]
    pub fn contains(&self, id: VolunteerId) -> bool {
        match self {
            Exclude::Nobody => false,
            Exclude::Ids(ids) => ids.contains(&id),
            Exclude::Set(set) => set.contains(&id),
            Exclude::Sorted(set) => set.contains(&id),
            Exclude::Predicate(p) => p(id),
        }
    }
}

impl fmt::Debug for Exclude<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exclude::Nobody => f.write_str("Nobody"),
            Exclude::Ids(ids) => f.debug_tuple("Ids").field(ids).finish(),
            Exclude::Set(s) => f.debug_tuple("Set").field(s).finish(),
            Exclude::Sorted(s) => f.debug_tuple("Sorted").field(s).finish(),
            Exclude::Predicate(_) => f.write_str("Predicate(..)"),
        }
    }
}

impl<'a> From<&'a [VolunteerId]> for Exclude<'a> {
    fn from(ids: &'a [VolunteerId]) -> Self {
        Exclude::Ids(ids)
    }
}

impl<'a> From<&'a Vec<VolunteerId>> for Exclude<'a> {
    fn from(ids: &'a Vec<VolunteerId>) -> Self {
        Exclude::Ids(ids)
    }
}

impl<'a> From<&'a HashSet<VolunteerId>> for Exclude<'a> {
    fn from(set: &'a HashSet<VolunteerId>) -> Self {
        Exclude::Set(set)
    }
}

impl<'a> From<&'a BTreeSet<VolunteerId>> for Exclude<'a> {
    fn from(set: &'a BTreeSet<VolunteerId>) -> Self {
        Exclude::Sorted(set)
    }
}

impl<'a, F: Fn(VolunteerId) -> bool> From<&'a F> for Exclude<'a> {
    fn from(p: &'a F) -> Self {
        Exclude::Predicate(p)
    }
}

/// A nearest-available query. Build it with [`Query::new`] and the
/// `within_m` / `excluding` helpers, or fill the fields directly.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Where help is needed.
    pub at: GeoPoint,
    /// Skills every returned volunteer must hold, with unexpired certificates.
    pub required: SkillSet,
    /// At most this many volunteers are returned.
    pub k: usize,
    /// Only volunteers within this haversine distance (inclusive), in metres.
    pub radius_m: f64,
    /// The time against which freshness, certificates and the offer cap are judged.
    pub now: UnixTime,
    /// Volunteers to skip.
    pub exclude: Exclude<'a>,
}

impl<'a> Query<'a> {
    /// Up to `k` volunteers holding `required`, any distance, nobody excluded.
    pub fn new(at: GeoPoint, required: SkillSet, k: usize, now: UnixTime) -> Self {
        Query {
            at,
            required,
            k,
            radius_m: f64::INFINITY,
            now,
            exclude: Exclude::Nobody,
        }
    }

    /// Only volunteers within `radius_m` metres.
    #[must_use]
    pub fn within_m(self, radius_m: f64) -> Self {
        Query { radius_m, ..self }
    }

    /// Skip the volunteers in `exclude` (a slice, `Vec`, `HashSet`,
    /// `BTreeSet` or `&impl Fn(VolunteerId) -> bool`).
    #[must_use]
    pub fn excluding(self, exclude: impl Into<Exclude<'a>>) -> Self {
        Query {
            exclude: exclude.into(),
            ..self
        }
    }
}

/// A volunteer found by a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// Who.
    pub id: VolunteerId,
    /// Haversine distance from the query point, in metres, exactly as
    /// `query.at.distance_m(&volunteer_position)` computes it.
    pub distance_m: f64,
}

/// One eligible volunteer met during a search.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Found {
    pub h: f64,
    pub id: VolunteerId,
    pub slot: u32,
    pub busy: bool,
    /// The reliability band (0 best; see [`VolunteerIndex::set_reliability`]).
    pub band: u8,
    pub idle_since: UnixTime,
    /// The distance the ranking uses: `h` plus the offer penalty for each
    /// offer of the last hour (equal to `h` when the penalty is off or the
    /// search was asked for true distances).
    pub eff: f64,
}

impl Found {
    pub(crate) fn candidate(&self) -> Candidate {
        Candidate {
            id: self.id,
            distance_m: self.h,
        }
    }
}

struct Slot {
    state: VolunteerState,
    /// The entry in the trees while the volunteer is searchable.
    entry: Option<Entry>,
    /// Skills with at least one certificate (bits).
    cert_mask: u16,
    /// See `VolunteerState::certificates_valid_until`.
    certs_until: UnixTime,
    /// Times of recent offers, ascending; only the last few are kept.
    offers: Vec<UnixTime>,
    /// The reliability band (0 best; see [`VolunteerIndex::set_reliability`]).
    band: u8,
}

/// The fields a search reads for every candidate, packed together and kept
/// in slot order (which bulk loading makes spatial), so that a search touches
/// about one cache line per candidate instead of a scattered `VolunteerState`.
#[derive(Debug, Clone, Copy)]
struct Hot {
    id: VolunteerId,
    lat: f64,
    lon: f64,
    /// `cos(lat)`, cached for the haversine formula.
    cos_lat: f64,
    seen_at: UnixTime,
    certs_until: UnixTime,
    idle_since: UnixTime,
    active_tasks: u32,
    capacity: u32,
    cert_mask: u16,
    /// Searchable: on duty with a position.
    live: bool,
    /// Offers kept; the cap is only checked in detail when this reaches it.
    offers: u32,
    /// The reliability band.
    band: u8,
}

impl Hot {
    fn of(slot: &Slot) -> Hot {
        let s = &slot.state;
        let (lat, lon, seen_at) = s
            .position
            .map_or((0.0, 0.0, 0), |p| (p.at.lat(), p.at.lon(), p.seen_at));
        Hot {
            id: s.id,
            lat,
            lon,
            cos_lat: lat.to_radians().cos(),
            seen_at,
            certs_until: slot.certs_until,
            idle_since: s.idle_since,
            active_tasks: s.active_tasks,
            capacity: s.capacity,
            cert_mask: slot.cert_mask,
            live: s.on_duty && s.position.is_some(),
            offers: u32::try_from(slot.offers.len()).unwrap_or(u32::MAX),
            band: slot.band,
        }
    }
}

/// A hasher for volunteer ids. Ids are UUIDs made by the server (random or
/// time-ordered bits, not chosen by clients), so a multiply-rotate mix is
/// enough and is several times faster than SipHash on 1M ids.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(b))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn finish(&self) -> u64 {
        self.0 ^ (self.0 >> 29)
    }
}

pub(crate) type IdMap<V> = HashMap<VolunteerId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A map keyed by slot number, with the same fast hasher.
pub(crate) type SlotMap<V> = HashMap<u32, V, std::hash::BuildHasherDefault<IdHasher>>;

/// Offer times kept per volunteer when there is no cap (the cap's value otherwise).
const MAX_OFFERS_KEPT: usize = 64;

impl Slot {
    fn new(state: VolunteerState) -> Self {
        let mut s = Slot {
            state,
            entry: None,
            cert_mask: 0,
            certs_until: UnixTime::MAX,
            offers: Vec::new(),
            band: 0,
        };
        s.refresh_certs();
        s
    }

    fn refresh_certs(&mut self) {
        self.cert_mask = self
            .state
            .certificates
            .iter()
            .fold(0, |m, c| m | c.skill.bit());
        self.certs_until = self.state.certificates_valid_until();
    }

    /// Where the volunteer belongs in the trees, if anywhere.
    fn wanted_entry(&self, slot: u32) -> Option<Entry> {
        match self.state.position {
            Some(Position { at, .. }) if self.state.on_duty => Some(Entry {
                p: embed(&at),
                slot,
                mask: self.state.skills.bits(),
            }),
            _ => None,
        }
    }

    fn offers_since(&self, since_exclusive: UnixTime) -> usize {
        let first = self.offers.partition_point(|&t| t <= since_exclusive);
        self.offers.len() - first
    }
}

/// The in-memory index of volunteers: positions, duty, load, skills with
/// certificate expiry, freshness and recent offers, with skill-aware
/// nearest-available search.
///
/// # Layout
/// Volunteers live in a slab (`Vec`) found by id through a `HashMap`. Those
/// on duty with a known location are also entries of R-trees (rstar) whose
/// points are positions on a 3D sphere of the haversine radius, and whose
/// node envelopes carry the union of the skills below them:
/// * the **main tree** holds every searchable volunteer; a search skips any
///   subtree whose skill summary lacks a required skill;
/// * every **rare skill** (held by at most `rare_skill_fraction` of the
///   searchable volunteers) also has **its own tree**; a query requiring it
///   searches the smallest such tree, so a skill held by 1% never walks the
///   city.
///
/// Results are ranked by the exact haversine distance
/// ([`GeoPoint::distance_m`]) and then by `VolunteerId`: the tree only
/// proposes candidates in an order whose key (chord length) is a provable
/// lower bound of that distance, and the search stops once the next bound
/// exceeds the k-th best distance (plus the fairness margin).
///
/// Off-duty volunteers and volunteers without a location stay in the slab but
/// out of the trees; stale locations, full capacity, expired certificates,
/// exclusions and the offer cap are checked on each candidate the trees
/// propose.
///
/// # Example
/// ```
/// use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};
/// use zhongdui_matcher::{MatcherConfig, Position, Query, VolunteerIndex, VolunteerState};
///
/// let now = 1_750_000_000;
/// let mut index = VolunteerIndex::new(MatcherConfig::default());
/// let near = VolunteerId::new();
/// let far = VolunteerId::new();
/// for (id, lat) in [(near, 27.551), (far, 27.56)] {
///     index.upsert(VolunteerState {
///         position: Some(Position { at: GeoPoint::parse(lat, 120.55)?, seen_at: now }),
///         on_duty: true,
///         skills: Skill::Patrol.into(),
///         ..VolunteerState::new(id)
///     });
/// }
/// let at = GeoPoint::parse(27.55, 120.55)?;
/// let found = index.nearest_available(&Query::new(at, Skill::Patrol.into(), 5, now));
/// assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [near, far]);
/// assert!((found[0].distance_m - 111.2).abs() < 0.5);
///
/// // Declined: skip it. Too far: out of the radius.
/// let declined = [near];
/// let q = Query::new(at, Skill::Patrol.into(), 5, now).excluding(&declined[..]).within_m(500.0);
/// assert!(index.nearest_available(&q).is_empty());
/// # Ok::<(), zhongdui_domain::DomainError>(())
/// ```
pub struct VolunteerIndex {
    cfg: MatcherConfig,
    slots: Vec<Option<Slot>>,
    /// Hot copy of each slot's search fields (same indices as `slots`).
    hot: Vec<Hot>,
    free: Vec<u32>,
    by_id: IdMap<u32>,
    main: Lane,
    skill_trees: [Option<Lane>; 10],
    /// Searchable volunteers holding each skill.
    counts: [usize; 10],
}

impl fmt::Debug for VolunteerIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rare: Vec<Skill> = Skill::ALL
            .into_iter()
            .filter(|s| self.skill_trees[*s as usize].is_some())
            .collect();
        f.debug_struct("VolunteerIndex")
            .field("volunteers", &self.by_id.len())
            .field("searchable", &self.main.len())
            .field("tombstones", &self.main.dead())
            .field("skill_trees", &rare)
            .field("config", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl Default for VolunteerIndex {
    fn default() -> Self {
        Self::new(MatcherConfig::default())
    }
}

/// A node or a leaf entry waiting in the search queue, keyed by the squared
/// chord distance (a lower bound for everything below it).
struct Item<'t> {
    d2: f64,
    node: NodeRef<'t>,
}

enum NodeRef<'t> {
    Parent(&'t ParentNode<Entry>),
}

impl PartialEq for Item<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.d2.total_cmp(&other.d2) == Ordering::Equal
    }
}
impl Eq for Item<'_> {}
impl PartialOrd for Item<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Item<'_> {
    /// Reversed, so that `BinaryHeap` pops the nearest first.
    fn cmp(&self, other: &Self) -> Ordering {
        other.d2.total_cmp(&self.d2)
    }
}

/// Max-heap key for the k best distances so far.
struct Dist(f64);
impl PartialEq for Dist {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Dist {}
impl PartialOrd for Dist {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Dist {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

impl VolunteerIndex {
    /// An empty index.
    pub fn new(cfg: MatcherConfig) -> Self {
        VolunteerIndex {
            cfg,
            slots: Vec::new(),
            hot: Vec::new(),
            free: Vec::new(),
            by_id: IdMap::default(),
            main: Lane::default(),
            skill_trees: Default::default(),
            counts: [0; 10],
        }
    }

    /// Builds an index from many volunteers at once (at start-up, from the
    /// database). Much faster than upserting one by one: the trees are bulk
    /// loaded. If an id occurs twice, the later state wins.
    ///
    /// # Runtime
    /// O(n log n) on two threads (`std::thread::scope`); about 0.7 s for
    /// 1M volunteers on the 2-core benchmark machine (see the README).
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::VolunteerId;
    /// use zhongdui_matcher::{MatcherConfig, VolunteerIndex, VolunteerState};
    /// let ids: Vec<VolunteerId> = (0..3).map(|_| VolunteerId::new()).collect();
    /// let index = VolunteerIndex::bulk_load(
    ///     MatcherConfig::default(),
    ///     ids.iter().map(|&id| VolunteerState::new(id)),
    /// );
    /// assert_eq!(index.len(), 3);
    /// assert_eq!(index.searchable_len(), 0); // off duty, no location
    /// ```
    pub fn bulk_load(
        cfg: MatcherConfig,
        volunteers: impl IntoIterator<Item = VolunteerState>,
    ) -> Self {
        let mut index = Self::new(cfg);
        let states: Vec<VolunteerState> = volunteers.into_iter().collect();
        // Slots in space-filling-curve order: neighbours in space are
        // neighbours in memory, so a search touches few cache lines.
        let mut order: Vec<(u64, u32)> = states
            .iter()
            .enumerate()
            .map(|(j, s)| (spatial_key(s), j as u32))
            .collect();
        order.sort_unstable();
        let n = states.len();
        // What the main tree needs, in input order: slot, position, skills.
        let mut slot_of_input = vec![0u32; n];
        for (i, &(_, j)) in order.iter().enumerate() {
            slot_of_input[j as usize] = i as u32;
        }
        let mut main_input: Vec<(u32, GeoPoint, u16)> = Vec::with_capacity(n);
        for (s, &slot) in states.iter().zip(&slot_of_input) {
            if let (true, Some(p)) = (s.on_duty, s.position) {
                main_input.push((slot, p.at, s.skills.bits()));
                for k in SkillSet::from_bits(s.skills.bits()).iter() {
                    index.counts[k as usize] += 1;
                }
            }
        }
        let searchable = main_input.len();
        let rare: Vec<Skill> = Skill::ALL
            .into_iter()
            .filter(|&s| index.wants_skill_tree(s, searchable))
            .collect();
        let rare_bits = rare.iter().fold(0u16, |m, s| m | s.bit());
        let rare_entries: Vec<Entry> = main_input
            .iter()
            .filter(|e| e.2 & rare_bits != 0)
            .map(|&(slot, at, mask)| Entry {
                p: embed(&at),
                slot,
                mask,
            })
            .collect();
        // Two threads: the main tree (the longest job) on one; the id map,
        // slots, skill trees and hot records on the other. Slots are
        // numbered in `order`; if an id turns out to occur twice (rare), the
        // slots are deduplicated ("the later one wins") and the trees built
        // again.
        let ids: Vec<VolunteerId> = states.iter().map(|s| s.id).collect();
        let (main, unique) = std::thread::scope(|scope| {
            let main = scope.spawn(|| {
                let mut by_id = IdMap::with_capacity_and_hasher(n, Default::default());
                let mut unique = true;
                for (id, &slot) in ids.iter().zip(&slot_of_input) {
                    unique &= by_id.insert(*id, slot).is_none();
                }
                let entries: Vec<Entry> = main_input
                    .into_iter()
                    .map(|(slot, at, mask)| Entry {
                        p: embed(&at),
                        slot,
                        mask,
                    })
                    .collect();
                (Lane::build(entries), by_id, unique)
            });
            let mut slots: Vec<Option<Slot>> = Vec::with_capacity(n);
            slots.resize_with(n, || None);
            for (state, &slot) in states.into_iter().zip(&slot_of_input) {
                slots[slot as usize] = Some(Slot::new(state));
            }
            index.slots = slots;
            // Optimistic: assumes the ids are unique (checked below).
            for (i, slot) in index.slots.iter_mut().enumerate() {
                if let Some(slot) = slot {
                    slot.entry = slot.wanted_entry(i as u32);
                }
            }
            for &s in &rare {
                let bit = s.bit();
                let own: Vec<Entry> = rare_entries
                    .iter()
                    .filter(|e| e.mask & bit != 0)
                    .copied()
                    .collect();
                index.skill_trees[s as usize] = Some(Lane::build(own));
            }
            // Bulk loading leaves no vacant slot, so indices line up.
            index.hot = index.slots.iter().flatten().map(Hot::of).collect();
            let (main, by_id, unique) =
                main.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            index.by_id = by_id;
            (main, unique)
        });
        index.main = main;
        if !unique {
            index.dedupe_slots(&order);
            index.rebuild_trees();
        }
        index
    }

    /// Builds every tree again from the slots (after `dedupe_slots`).
    fn rebuild_trees(&mut self) {
        self.counts = [0; 10];
        let mut entries = Vec::with_capacity(self.slots.len());
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Some(slot) = slot {
                slot.entry = slot.wanted_entry(i as u32);
                if let Some(e) = slot.entry {
                    entries.push(e);
                    for s in SkillSet::from_bits(e.mask).iter() {
                        self.counts[s as usize] += 1;
                    }
                }
            }
        }
        let n = entries.len();
        self.skill_trees = Default::default();
        for s in Skill::ALL {
            if self.wants_skill_tree(s, n) {
                let bit = s.bit();
                let own: Vec<Entry> = entries
                    .iter()
                    .filter(|e| e.mask & bit != 0)
                    .copied()
                    .collect();
                self.skill_trees[s as usize] = Some(Lane::build(own));
            }
        }
        self.main = Lane::build(entries);
        self.hot = self.slots.iter().flatten().map(Hot::of).collect();
    }

    /// Rebuilds `slots` and `by_id` of a bulk load whose input had a
    /// duplicate id: the later state in the input wins, slots stay in
    /// `order` (first occurrence) and none is left vacant.
    fn dedupe_slots(&mut self, order: &[(u64, u32)]) {
        let mut slots: Vec<Option<Slot>> = std::mem::take(&mut self.slots);
        let mut by_id = IdMap::with_capacity_and_hasher(slots.len(), Default::default());
        let mut kept: Vec<Option<Slot>> = Vec::with_capacity(slots.len());
        let mut input_of_slot: Vec<u32> = Vec::with_capacity(slots.len());
        for (slot, &(_, j)) in slots.iter_mut().zip(order) {
            let Some(slot) = slot.take() else {
                continue;
            };
            match by_id.entry(slot.state.id) {
                Entry_::Occupied(e) => {
                    let i = *e.get() as usize;
                    if input_of_slot[i] < j {
                        kept[i] = Some(slot);
                        input_of_slot[i] = j;
                    }
                }
                Entry_::Vacant(e) => {
                    e.insert(kept.len() as u32);
                    kept.push(Some(slot));
                    input_of_slot.push(j);
                }
            }
        }
        self.slots = kept;
        self.by_id = by_id;
    }

    /// The configuration in force.
    pub fn config(&self) -> &MatcherConfig {
        &self.cfg
    }

    /// Number of volunteers in the index.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the index holds no volunteer.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Number of volunteers a search can find (on duty, with a location).
    pub fn searchable_len(&self) -> usize {
        self.main.len()
    }

    /// Whether `id` is in the index.
    pub fn contains(&self, id: VolunteerId) -> bool {
        self.by_id.contains_key(&id)
    }

    /// The state of `id`, if present.
    pub fn get(&self, id: VolunteerId) -> Option<&VolunteerState> {
        self.slot_of(id).map(|s| &s.state)
    }

    /// Every volunteer's state, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &VolunteerState> + '_ {
        self.slots.iter().flatten().map(|s| &s.state)
    }

    /// The skills that currently have their own tree.
    pub fn skills_with_own_tree(&self) -> SkillSet {
        Skill::ALL
            .into_iter()
            .filter(|s| self.skill_trees[*s as usize].is_some())
            .collect()
    }

    fn slot_of(&self, id: VolunteerId) -> Option<&Slot> {
        let i = *self.by_id.get(&id)?;
        self.slots.get(i as usize)?.as_ref()
    }

    fn index_of(&self, id: VolunteerId) -> Result<u32, MatcherError> {
        self.by_id
            .get(&id)
            .copied()
            .ok_or(MatcherError::UnknownVolunteer(id))
    }

    fn slot_mut(&mut self, i: u32) -> Option<&mut Slot> {
        self.slots.get_mut(i as usize)?.as_mut()
    }

    /// Sets the reliability score (0–100) of volunteer `id`, kept across
    /// upserts; false if the index does not hold them. It only breaks ties
    /// among near-equal candidates (within ε, see
    /// [`VolunteerIndex::nearest_available`]), in three bands: 40 and
    /// above (everyone starts at 100), 20–39, below 20. So a volunteer
    /// with a poor record is asked after a near-equal one with a fair
    /// record, never instead of a nearer one.
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::{GeoPoint, SkillSet, VolunteerId};
    /// use zhongdui_matcher::{MatcherConfig, Position, Query, VolunteerIndex, VolunteerState};
    ///
    /// let now = 1_750_000_000;
    /// let cfg = MatcherConfig { fairness_epsilon_m: 100.0, ..MatcherConfig::default() };
    /// let mut index = VolunteerIndex::new(cfg);
    /// let (nearer, fair) = (VolunteerId::new(), VolunteerId::new());
    /// for (id, lat) in [(nearer, 27.5500), (fair, 27.5505)] {
    ///     index.upsert(VolunteerState {
    ///         position: Some(Position { at: GeoPoint::parse(lat, 120.55)?, seen_at: now }),
    ///         on_duty: true,
    ///         ..VolunteerState::new(id)
    ///     });
    /// }
    /// let q = Query::new(GeoPoint::parse(27.55, 120.55)?, SkillSet::EMPTY, 1, now);
    /// assert_eq!(index.nearest_available(&q)[0].id, nearer);
    /// assert!(index.set_reliability(nearer, 15));
    /// // 56 m farther, within ε, and a fair record: it is asked first.
    /// assert_eq!(index.nearest_available(&q)[0].id, fair);
    /// # Ok::<(), zhongdui_domain::DomainError>(())
    /// ```
    pub fn set_reliability(&mut self, id: VolunteerId, score: u8) -> bool {
        let band = match score {
            40.. => 0,
            20..=39 => 1,
            _ => 2,
        };
        match self.by_id.get(&id).copied() {
            Some(i) => {
                self.update(i, |slot| slot.band = band);
                true
            }
            None => false,
        }
    }

    /// Adds a volunteer or replaces its whole state. The offer history is
    /// kept when the volunteer was already present.
    ///
    /// # Runtime
    /// O(log n) per tree the volunteer is in (the main tree, plus one per rare
    /// skill held); nothing touches the trees when neither position, duty
    /// nor skills changed.
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::{GeoPoint, VolunteerId};
    /// use zhongdui_matcher::{Position, VolunteerIndex, VolunteerState};
    /// let mut index = VolunteerIndex::default();
    /// let id = VolunteerId::new();
    /// index.upsert(VolunteerState { on_duty: true, ..VolunteerState::new(id) });
    /// assert_eq!(index.searchable_len(), 0); // no location yet
    /// let at = GeoPoint::parse(27.5, 120.6)?;
    /// index.upsert(VolunteerState {
    ///     on_duty: true,
    ///     position: Some(Position { at, seen_at: 0 }),
    ///     ..VolunteerState::new(id)
    /// });
    /// assert_eq!((index.len(), index.searchable_len()), (1, 1));
    /// # Ok::<(), zhongdui_domain::DomainError>(())
    /// ```
    pub fn upsert(&mut self, state: VolunteerState) {
        match self.by_id.get(&state.id).copied() {
            Some(i) => self.update(i, |slot| {
                slot.state = state;
                slot.refresh_certs();
            }),
            None => {
                let id = state.id;
                let slot = Slot::new(state);
                let hot = Hot::of(&slot);
                let i = match self.free.pop() {
                    Some(i) => {
                        self.slots[i as usize] = Some(slot);
                        self.hot[i as usize] = hot;
                        i
                    }
                    None => {
                        self.slots.push(Some(slot));
                        self.hot.push(hot);
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_id.insert(id, i);
                self.sync_trees(i);
            }
        }
    }

    /// Applies `change` to slot `i` and brings the trees in line.
    fn update(&mut self, i: u32, change: impl FnOnce(&mut Slot)) {
        if let Some(slot) = self.slot_mut(i) {
            change(slot);
            self.refresh_hot(i);
            self.sync_trees(i);
        }
    }

    fn refresh_hot(&mut self, i: u32) {
        if let (Some(Some(slot)), Some(hot)) =
            (self.slots.get(i as usize), self.hot.get_mut(i as usize))
        {
            *hot = Hot::of(slot);
        }
    }

    /// Makes the trees hold exactly the entry slot `i` wants.
    fn sync_trees(&mut self, i: u32) {
        let Some(slot) = self.slots.get(i as usize).and_then(Option::as_ref) else {
            return;
        };
        let (old, mut new) = (slot.entry, slot.wanted_entry(i));
        if let (Some(o), Some(n)) = (old, new.as_mut()) {
            // A small move: the trees keep the old point (see
            // `MatcherConfig::location_slack_m`; searches widen by it).
            let slack = self.slack_m();
            if o.mask == n.mask && dist2(&o.p, &n.p) <= slack * slack {
                *n = o;
            }
        }
        if old == new {
            return;
        }
        self.retree(old, new);
        if let Some(slot) = self.slot_mut(i) {
            slot.entry = new;
        }
    }

    /// Replaces `old` by `new` in the trees (either may be absent).
    fn retree(&mut self, old: Option<Entry>, new: Option<Entry>) {
        match (old, new) {
            (Some(old), Some(new)) if old.mask == new.mask => {
                // A move: same trees, same counts.
                self.main.relocate(&old, new);
                for s in SkillSet::from_bits(new.mask).iter() {
                    if let Some(t) = self.skill_trees[s as usize].as_mut() {
                        t.relocate(&old, new);
                    }
                }
            }
            _ => {
                if let Some(old) = old {
                    let found = self.main.remove(&old);
                    debug_assert!(found, "removed entry not in the main tree");
                    for s in SkillSet::from_bits(old.mask).iter() {
                        self.counts[s as usize] -= 1;
                        if let Some(t) = self.skill_trees[s as usize].as_mut() {
                            t.remove(&old);
                        }
                    }
                }
                if let Some(new) = new {
                    self.main.insert(new);
                    for s in SkillSet::from_bits(new.mask).iter() {
                        self.counts[s as usize] += 1;
                        if let Some(t) = self.skill_trees[s as usize].as_mut() {
                            t.insert(new);
                        }
                    }
                }
                self.review_skill_trees();
            }
        }
        self.repack_lanes();
    }

    /// Repacks every tree whose tombstones have passed
    /// [`MatcherConfig::repack_dead_fraction`] of its live entries.
    fn repack_lanes(&mut self) {
        let f = self.cfg.repack_fraction();
        self.main.repack_past(f);
        for t in self.skill_trees.iter_mut().flatten() {
            t.repack_past(f);
        }
    }

    fn wants_skill_tree(&self, s: Skill, n: usize) -> bool {
        let f = self.cfg.rare_skill_fraction;
        f > 0.0 && (self.counts[s as usize] as f64) <= f * n as f64
    }

    /// Builds trees for skills that became rare, drops those of skills that
    /// became common (hysteresis: at twice the fraction), so flapping around
    /// the threshold does not rebuild a tree on every update.
    fn review_skill_trees(&mut self) {
        let n = self.main.len();
        let f = self.cfg.rare_skill_fraction;
        for s in Skill::ALL {
            let k = s as usize;
            if self.skill_trees[k].is_some() {
                if self.counts[k] as f64 > 2.0 * f * n as f64 {
                    self.skill_trees[k] = None;
                }
            } else if self.wants_skill_tree(s, n) {
                let bit = s.bit();
                let own: Vec<Entry> = self
                    .main
                    .iter()
                    .filter(|e| e.mask & bit != 0)
                    .copied()
                    .collect();
                self.skill_trees[k] = Some(Lane::build(own));
            }
        }
    }

    /// Records a new location report.
    ///
    /// # Runtime
    /// For a searchable volunteer, per tree it is in (the main tree and the
    /// tree of each rare skill held): one descent to its entry, then an
    /// in-place move when the entry's leaf node already contains the new
    /// point, else a tombstone and one R* insertion; nothing at all when the
    /// move stays within [`MatcherConfig::location_slack_m`]. Otherwise
    /// O(1). The update that takes a tree's tombstones past
    /// [`MatcherConfig::repack_dead_fraction`] also repacks that tree
    /// (about a bulk load of it: 0.27 s for 850k volunteers).
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::{GeoPoint, VolunteerId};
    /// use zhongdui_matcher::{VolunteerIndex, VolunteerState};
    /// let mut index = VolunteerIndex::default();
    /// let id = VolunteerId::new();
    /// index.upsert(VolunteerState { on_duty: true, ..VolunteerState::new(id) });
    /// index.set_location(id, GeoPoint::parse(27.5, 120.6)?, 1_750_000_000).unwrap();
    /// assert_eq!(index.searchable_len(), 1);
    /// assert!(index.set_location(VolunteerId::new(), GeoPoint::parse(0.0, 0.0)?, 0).is_err());
    /// # Ok::<(), zhongdui_domain::DomainError>(())
    /// ```
    pub fn set_location(
        &mut self,
        id: VolunteerId,
        at: GeoPoint,
        seen_at: UnixTime,
    ) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        self.update(i, |slot| {
            slot.state.position = Some(Position { at, seen_at })
        });
        Ok(())
    }

    /// Forgets the volunteer's location (e.g. location sharing turned off).
    pub fn clear_location(&mut self, id: VolunteerId) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        self.update(i, |slot| slot.state.position = None);
        Ok(())
    }

    /// Puts the volunteer on or off duty. Off-duty volunteers leave the trees.
    pub fn set_duty(&mut self, id: VolunteerId, on_duty: bool) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        self.update(i, |slot| slot.state.on_duty = on_duty);
        Ok(())
    }

    /// Sets the number of tasks in hand. When it drops to 0 from more,
    /// `idle_since` becomes `now` (the volunteer has just become idle).
    /// O(1): load is checked at query time, the trees do not change.
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::VolunteerId;
    /// use zhongdui_matcher::{VolunteerIndex, VolunteerState};
    /// let mut index = VolunteerIndex::default();
    /// let id = VolunteerId::new();
    /// index.upsert(VolunteerState::new(id));
    /// index.set_active_tasks(id, 1, 100).unwrap();
    /// index.set_active_tasks(id, 0, 200).unwrap();
    /// assert_eq!(index.get(id).unwrap().idle_since, 200);
    /// ```
    pub fn set_active_tasks(
        &mut self,
        id: VolunteerId,
        active_tasks: u32,
        now: UnixTime,
    ) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        if let Some(slot) = self.slot_mut(i) {
            if active_tasks == 0 && slot.state.active_tasks > 0 {
                slot.state.idle_since = now;
            }
            slot.state.active_tasks = active_tasks;
        }
        self.refresh_hot(i);
        Ok(())
    }

    /// Sets how many tasks the volunteer may hold at once. O(1).
    pub fn set_capacity(&mut self, id: VolunteerId, capacity: u32) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        if let Some(slot) = self.slot_mut(i) {
            slot.state.capacity = capacity;
        }
        self.refresh_hot(i);
        Ok(())
    }

    /// Replaces the volunteer's skills and certificates.
    pub fn set_skills(
        &mut self,
        id: VolunteerId,
        skills: SkillSet,
        certificates: Vec<crate::Certificate>,
    ) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        self.update(i, |slot| {
            slot.state.skills = skills;
            slot.state.certificates = certificates;
            slot.refresh_certs();
        });
        Ok(())
    }

    /// Removes a volunteer; returns its last state if it was present.
    pub fn remove(&mut self, id: VolunteerId) -> Option<VolunteerState> {
        let i = self.by_id.remove(&id)?;
        let slot = self.slots.get_mut(i as usize)?.take()?;
        self.retree(slot.entry, None);
        if let Some(h) = self.hot.get_mut(i as usize) {
            h.live = false;
        }
        self.free.push(i);
        Some(slot.state)
    }

    /// Records that the volunteer was sent an offer at `now`, for the offer
    /// cap ([`MatcherConfig::max_offers_per_hour`]): a volunteer with that
    /// many recorded offers at times `t > now - 3600` is skipped by searches
    /// until enough of them are an hour old. The index keeps these counts so the caller need
    /// not; they are not persisted (a restarted process starts at zero, which
    /// errs on the side of paging).
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::{GeoPoint, SkillSet, VolunteerId};
    /// use zhongdui_matcher::{MatcherConfig, Position, Query, VolunteerIndex, VolunteerState};
    /// let cfg = MatcherConfig {
    ///     max_offers_per_hour: Some(2),
    ///     max_location_age_s: 86_400,
    ///     ..MatcherConfig::default()
    /// };
    /// let mut index = VolunteerIndex::new(cfg);
    /// let id = VolunteerId::new();
    /// let at = GeoPoint::parse(27.5, 120.6)?;
    /// index.upsert(VolunteerState {
    ///     on_duty: true,
    ///     position: Some(Position { at, seen_at: 1000 }),
    ///     ..VolunteerState::new(id)
    /// });
    /// index.record_offer(id, 1000).unwrap();
    /// index.record_offer(id, 1100).unwrap();
    /// let found = |now| index.nearest_available(&Query::new(at, SkillSet::EMPTY, 1, now)).len();
    /// assert_eq!(found(1200), 0); // two offers in the last hour
    /// assert_eq!(found(4600), 1); // the first one is an hour old
    /// # Ok::<(), zhongdui_domain::DomainError>(())
    /// ```
    pub fn record_offer(&mut self, id: VolunteerId, now: UnixTime) -> Result<(), MatcherError> {
        let i = self.index_of(id)?;
        // Only the last `cap` offers can matter.
        let keep = self
            .cfg
            .max_offers_per_hour
            .map_or(MAX_OFFERS_KEPT, |c| c.max(1) as usize);
        if let Some(slot) = self.slot_mut(i) {
            let at = slot.offers.partition_point(|&t| t <= now);
            slot.offers.insert(at, now);
            // Forget what can no longer count, and bound the memory.
            let stale = slot.offers.partition_point(|&t| t <= now - OFFER_WINDOW_S);
            let excess = slot.offers.len().saturating_sub(keep);
            slot.offers.drain(..stale.max(excess));
        }
        self.refresh_hot(i);
        Ok(())
    }

    /// Offers recorded for `id` in the hour before `now` (`t > now - 3600`).
    pub fn offers_in_last_hour(&self, id: VolunteerId, now: UnixTime) -> usize {
        self.slot_of(id)
            .map_or(0, |s| s.offers_since(now - OFFER_WINDOW_S))
    }

    /// Whether `id` would be returned by a search for `required` at `now`
    /// (ignoring distance and exclusions): available and under the offer cap.
    pub fn is_available(&self, id: VolunteerId, required: SkillSet, now: UnixTime) -> bool {
        self.slot_of(id).is_some_and(|s| {
            s.state.is_available(required, now, &self.cfg) && self.under_offer_cap(s, now)
        })
    }

    fn under_offer_cap(&self, slot: &Slot, now: UnixTime) -> bool {
        match self.cfg.max_offers_per_hour {
            None => true,
            Some(cap) => {
                (slot.offers.len() as u32) < cap
                    || (slot.offers_since(now - OFFER_WINDOW_S) as u32) < cap
            }
        }
    }

    /// The hot availability test on a candidate the tree proposed (its skill
    /// bits are known to cover `required`). Reads only `hot[i]` unless a
    /// certificate may have expired or the offer cap may be reached.
    #[inline]
    fn eligible(&self, i: usize, h: &Hot, q: &Query<'_>) -> bool {
        if !h.live || h.active_tasks >= h.capacity {
            return false;
        }
        if q.now.saturating_sub(h.seen_at) >= self.cfg.max_location_age_s {
            return false;
        }
        let cold = || self.slots.get(i).and_then(Option::as_ref);
        if q.required.bits() & h.cert_mask != 0
            && q.now >= h.certs_until
            && !cold().is_some_and(|s| s.state.holds_all(q.required, q.now))
        {
            return false;
        }
        if let Some(cap) = self.cfg.max_offers_per_hour
            && h.offers >= cap
            && !cold().is_some_and(|s| self.under_offer_cap(s, q.now))
        {
            return false;
        }
        !q.exclude.contains(h.id)
    }

    /// The tree to search for `required`: the smallest own tree of a required
    /// rare skill, else the main tree.
    fn tree_for(&self, required: SkillSet) -> &Lane {
        required
            .iter()
            .filter_map(|s| {
                self.skill_trees[s as usize]
                    .as_ref()
                    .map(|t| (self.counts[s as usize], t))
            })
            .min_by_key(|(count, _)| *count)
            .map_or(&self.main, |(_, t)| t)
    }

    /// Every eligible volunteer within `radius_m` whose ranking distance
    /// (`eff`: the distance plus `penalty_m` per offer of the last hour) is
    /// at most the k-th best ranking distance plus `margin_m`, in no
    /// particular order (plus possibly some farther ones met before the bound
    /// tightened). Since no ranking distance is below the true one, a
    /// volunteer farther than that bound cannot qualify and the tree bound
    /// stays valid.
    pub(crate) fn search(&self, q: &Query<'_>, margin_m: f64, penalty_m: f64) -> Vec<Found> {
        let mut found = Vec::new();
        if q.k == 0 || q.radius_m.is_nan() || q.radius_m < 0.0 {
            return found;
        }
        let tree = self.tree_for(q.required);
        let need = q.required.bits();
        let root = tree.root();
        if root.envelope().mask & need != need {
            return found;
        }
        let q3 = embed(&q.at);
        let q_cos = q.at.lat().to_radians().cos();
        let mut lim2 = self.tree_limit2(q.radius_m);
        let mut queue: BinaryHeap<Item<'_>> = BinaryHeap::with_capacity(64);
        let mut best: BinaryHeap<Dist> = BinaryHeap::with_capacity(q.k + 1);
        queue.push(Item {
            d2: 0.0,
            node: NodeRef::Parent(root),
        });
        // Leaves are evaluated as soon as their node is popped, in no
        // particular order: cheaper than queueing each of them, and still
        // exact, because the limit only shrinks and a node is popped before
        // the search stops whenever anything under it is within the final
        // limit.
        let mut consider = |e: &Entry, lim2: &mut f64| {
            if dist2(&e.p, &q3) > *lim2 {
                return;
            }
            let i = e.slot as usize;
            let Some(hot) = self.hot.get(i) else {
                return;
            };
            if !self.eligible(i, hot, q) {
                return;
            }
            let h = haversine_m(&q.at, q_cos, hot);
            if h > q.radius_m {
                return;
            }
            let eff = if penalty_m > 0.0 && hot.offers > 0 {
                let recent = self
                    .slots
                    .get(i)
                    .and_then(Option::as_ref)
                    .map_or(0, |s| s.offers_since(q.now - OFFER_WINDOW_S));
                h + (penalty_m * recent as f64).min(self.cfg.offer_penalty_max_m)
            } else {
                h
            };
            found.push(Found {
                h,
                id: hot.id,
                slot: e.slot,
                busy: hot.active_tasks > 0,
                band: hot.band,
                idle_since: hot.idle_since,
                eff,
            });
            if best.len() < q.k {
                best.push(Dist(eff));
            } else if best.peek().is_some_and(|w| eff < w.0) {
                best.pop();
                best.push(Dist(eff));
            }
            if best.len() == q.k
                && let Some(w) = best.peek()
            {
                *lim2 = self.tree_limit2((w.0 + margin_m).min(q.radius_m));
            }
        };
        while let Some(item) = queue.pop() {
            if item.d2 > lim2 {
                break;
            }
            let NodeRef::Parent(parent) = item.node;
            for child in parent.children() {
                match child {
                    RTreeNode::Leaf(e) => {
                        if e.mask & need == need {
                            consider(e, &mut lim2);
                        }
                    }
                    RTreeNode::Parent(p) => {
                        let env = p.envelope();
                        if env.mask & need == need {
                            let d2 = env.dist2_to(&q3);
                            if d2 <= lim2 {
                                queue.push(Item {
                                    d2,
                                    node: NodeRef::Parent(p),
                                });
                            }
                        }
                    }
                }
            }
        }
        found
    }

    /// Up to `q.k` available volunteers near `q.at`, best first.
    ///
    /// *Available* means on duty, `active_tasks < capacity`, location fresher
    /// than [`MatcherConfig::max_location_age_s`] at `q.now`, every skill in
    /// `q.required` held with an unexpired certificate, fewer than
    /// [`MatcherConfig::max_offers_per_hour`] offers recorded in the last
    /// hour, within `q.radius_m` and not excluded.
    ///
    /// **Order.** With `fairness_epsilon_m == 0` the result is the k nearest
    /// by haversine metres, ties by ascending `VolunteerId`. With `ε > 0`
    /// the result is built one pick at a time: among the remaining eligible
    /// volunteers whose distance is within ε of the nearest remaining one,
    /// pick the one idle longest (no task in hand before any with tasks, then
    /// the better reliability band — see [`VolunteerIndex::set_reliability`]
    /// —, then smallest `idle_since`, then nearest, then smallest id). So each pick
    /// is at most ε farther than the nearest volunteer still available, and
    /// results come in this preference order, which is nearest-first up to ε.
    /// With an offer penalty ([`MatcherConfig::offer_penalty_m`]) every
    /// "distance" above is the ranking distance (the distance plus the
    /// penalty for the last hour's offers, at most `offer_penalty_max_m`;
    /// ties by distance, then id); the distances returned stay true.
    ///
    /// # Runtime
    /// Typically a few µs at 1M volunteers (see the README): the trees
    /// propose candidates nearest first, skipping subtrees without the
    /// required skills; each proposed candidate costs an availability check,
    /// eligible ones a haversine evaluation.
    ///
    /// # Example
    /// ```
    /// use zhongdui_domain::{GeoPoint, Skill, SkillSet, VolunteerId};
    /// use zhongdui_matcher::{MatcherConfig, Position, Query, VolunteerIndex, VolunteerState};
    ///
    /// let now = 1_750_000_000;
    /// let cfg = MatcherConfig { fairness_epsilon_m: 100.0, ..MatcherConfig::default() };
    /// let mut index = VolunteerIndex::new(cfg);
    /// let (busy_lately, idle_long) = (VolunteerId::new(), VolunteerId::new());
    /// for (id, lat, idle_since) in [(busy_lately, 27.5500, now - 60), (idle_long, 27.5505, now - 86_400)] {
    ///     index.upsert(VolunteerState {
    ///         position: Some(Position { at: GeoPoint::parse(lat, 120.55)?, seen_at: now }),
    ///         on_duty: true,
    ///         idle_since,
    ///         ..VolunteerState::new(id)
    ///     });
    /// }
    /// let at = GeoPoint::parse(27.55, 120.55)?;
    /// let found = index.nearest_available(&Query::new(at, SkillSet::EMPTY, 1, now));
    /// // 56 m farther, but within ε and idle for a day: it gets the offer.
    /// assert_eq!(found[0].id, idle_long);
    /// # Ok::<(), zhongdui_domain::DomainError>(())
    /// ```
    pub fn nearest_available(&self, q: &Query<'_>) -> Vec<Candidate> {
        let eps = self.fairness_epsilon();
        let mut found = self.search(q, eps, self.offer_penalty());
        sort_by_ranking(&mut found);
        if eps == 0.0 {
            found.truncate(q.k);
            return found.iter().map(Found::candidate).collect();
        }
        fair_pick(found, q.k, eps)
            .iter()
            .map(Found::candidate)
            .collect()
    }

    /// The location slack in force (0 when not a finite positive number).
    fn slack_m(&self) -> f64 {
        let s = self.cfg.location_slack_m;
        if s > 0.0 && s.is_finite() { s } else { 0.0 }
    }

    /// [`chord2_limit`] widened by the location slack: a tree point farther
    /// than this from the query holds no volunteer whose reported position
    /// is within `metres` (triangle inequality in 3D).
    fn tree_limit2(&self, metres: f64) -> f64 {
        let c2 = chord2_limit(metres);
        let slack = self.slack_m();
        if slack == 0.0 || c2 < 0.0 || c2.is_infinite() {
            return c2;
        }
        let c = c2.sqrt() + slack;
        c * c
    }

    fn offer_penalty(&self) -> f64 {
        let p = self.cfg.offer_penalty_m;
        if p > 0.0 && p.is_finite() { p } else { 0.0 }
    }

    fn fairness_epsilon(&self) -> f64 {
        let e = self.cfg.fairness_epsilon_m;
        if e > 0.0 && e.is_finite() { e } else { 0.0 }
    }

    /// Free capacity of the volunteer in slot `i`.
    pub(crate) fn free_capacity_of(&self, slot: u32) -> u32 {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map_or(0, |s| s.state.free_capacity())
    }
}

/// `at.distance_m(&volunteer position)`, bit for bit: the same operations as
/// `geo`'s `Haversine::distance` (which `GeoPoint::distance_m` calls) in the
/// same order, with both cosines of latitude cached. The oracle tests compare
/// results with `GeoPoint::distance_m` for exact equality.
#[inline]
fn haversine_m(at: &GeoPoint, at_cos_lat: f64, to: &Hot) -> f64 {
    let delta_theta = (to.lat - at.lat()).to_radians();
    let delta_lambda = (to.lon - at.lon()).to_radians();
    let a = (delta_theta / 2.0).sin().powi(2)
        + at_cos_lat * to.cos_lat * (delta_lambda / 2.0).sin().powi(2);
    let c = 2.0 * a.sqrt().asin();
    EARTH_RADIUS_M * c
}

/// Z-order (Morton) key of a volunteer's position; those without one last.
fn spatial_key(s: &VolunteerState) -> u64 {
    fn spread(x: u32) -> u64 {
        let mut x = u64::from(x);
        x = (x | (x << 16)) & 0x0000_FFFF_0000_FFFF;
        x = (x | (x << 8)) & 0x00FF_00FF_00FF_00FF;
        x = (x | (x << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    }
    match s.position {
        None => u64::MAX,
        Some(p) => {
            let y = ((p.at.lat() + 90.0) / 180.0 * f64::from(u32::MAX)) as u32;
            let x = ((p.at.lon() + 180.0) / 360.0 * f64::from(u32::MAX)) as u32;
            spread(x) | (spread(y) << 1)
        }
    }
}

/// Sorts by distance, then id: the deterministic nearest-first order.
pub(crate) fn sort_by_distance(found: &mut [Found]) {
    found.sort_unstable_by(|a, b| a.h.total_cmp(&b.h).then(a.id.cmp(&b.id)));
}

/// Sorts by ranking distance, then distance, then id: nearest-first when the
/// offer penalty is off.
fn sort_by_ranking(found: &mut [Found]) {
    found.sort_unstable_by(|a, b| {
        a.eff
            .total_cmp(&b.eff)
            .then(a.h.total_cmp(&b.h))
            .then(a.id.cmp(&b.id))
    });
}

/// The fairness selection described on [`VolunteerIndex::nearest_available`].
/// `found` must be sorted by [`sort_by_ranking`].
fn fair_pick(mut found: Vec<Found>, k: usize, eps: f64) -> Vec<Found> {
    if let Some(kth) = found.get(k.saturating_sub(1)).map(|f| f.eff) {
        let keep = found.partition_point(|f| f.eff <= kth + eps);
        found.truncate(keep);
    }
    let mut picked = Vec::with_capacity(k.min(found.len()));
    while picked.len() < k && !found.is_empty() {
        let reach = found[0].eff + eps;
        let pool = found.partition_point(|f| f.eff <= reach);
        let mut best = 0;
        for i in 1..pool {
            let (a, b) = (&found[i], &found[best]);
            let better = (a.busy, a.band, a.idle_since).cmp(&(b.busy, b.band, b.idle_since))
                == Ordering::Less;
            // Equal fairness keys: the earlier (nearer, smaller id) one stays.
            if better {
                best = i;
            }
        }
        picked.push(found.remove(best));
    }
    picked
}

#[cfg(all(test, feature = "synth"))]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::lane::uniform_depth;

    /// A bulk load with duplicate ids keeps the later state of each and
    /// answers like an index built by upserts in input order.
    /// The offer penalty steps a volunteer back by its amount per offer of
    /// the last hour, up to its maximum, and forgets offers an hour old.
    #[test]
    fn offer_penalty_rotates_offers_within_its_reach() {
        let now = 1_750_000_000;
        let cfg = MatcherConfig {
            fairness_epsilon_m: 0.0,
            offer_penalty_m: 40.0,
            offer_penalty_max_m: 100.0,
            max_location_age_s: 2 * OFFER_WINDOW_S,
            ..MatcherConfig::default()
        };
        let mut index = VolunteerIndex::new(cfg);
        let at = GeoPoint::parse(27.55, 120.55).unwrap();
        // Along a meridian: 0 m, ~56 m and ~111 m from the order, then ~167 m.
        let ids: Vec<VolunteerId> = (0..4).map(|_| VolunteerId::new()).collect();
        for (i, id) in ids.iter().enumerate() {
            index.upsert(VolunteerState {
                position: Some(Position {
                    at: GeoPoint::parse(27.55 + 0.0005 * i as f64, 120.55).unwrap(),
                    seen_at: now,
                }),
                on_duty: true,
                ..VolunteerState::new(*id)
            });
        }
        let first = |index: &VolunteerIndex, t| {
            let found = index.nearest_available(&Query::new(at, SkillSet::EMPTY, 1, t));
            found[0]
        };
        assert_eq!(first(&index, now).id, ids[0]);
        // One offer: 0 + 40 m is still nearer than 56 m.
        index.record_offer(ids[0], now).unwrap();
        assert_eq!(first(&index, now).id, ids[0]);
        // Two: 80 m ranks behind 56 m; the distance reported stays true.
        index.record_offer(ids[0], now).unwrap();
        let next = first(&index, now);
        assert_eq!(next.id, ids[1]);
        assert!((next.distance_m - 55.6).abs() < 0.5, "{}", next.distance_m);
        // Five offers would be 200 m, but the penalty stops at 100 m, so the
        // volunteer at 0 m still ranks before the one at ~167 m.
        for _ in 0..3 {
            index.record_offer(ids[0], now).unwrap();
        }
        index.record_offer(ids[1], now).unwrap();
        index.record_offer(ids[1], now).unwrap();
        index.record_offer(ids[2], now).unwrap();
        index.record_offer(ids[2], now).unwrap();
        let order: Vec<VolunteerId> = index
            .nearest_available(&Query::new(at, SkillSet::EMPTY, 4, now))
            .iter()
            .map(|c| c.id)
            .collect();
        // Ranking distances: 100, 55.6 + 80, 111.2 + 80, 166.8.
        assert_eq!(order, vec![ids[0], ids[1], ids[3], ids[2]]);
        // An hour later the offers no longer count.
        assert_eq!(first(&index, now + OFFER_WINDOW_S).id, ids[0]);
    }

    #[test]
    fn bulk_load_with_duplicate_ids_keeps_the_later_state() {
        let city = crate::synth::City::new(5);
        let mut vols = city.volunteers(3_000, 6);
        let mut rng = crate::synth::rng(7);
        // Every tenth volunteer appears again later, moved and on duty.
        let again: Vec<VolunteerState> = vols
            .iter()
            .step_by(10)
            .map(|v| VolunteerState {
                on_duty: true,
                position: Some(Position {
                    at: city.sample(&mut rng),
                    seen_at: crate::synth::NOW,
                }),
                ..v.clone()
            })
            .collect();
        vols.extend(again);
        let bulk = VolunteerIndex::bulk_load(MatcherConfig::default(), vols.iter().cloned());
        let mut one_by_one = VolunteerIndex::new(MatcherConfig::default());
        for v in &vols {
            one_by_one.upsert(v.clone());
        }
        assert_eq!(bulk.len(), 3_000);
        assert_eq!(bulk.searchable_len(), one_by_one.searchable_len());
        for v in one_by_one.iter() {
            assert_eq!(bulk.get(v.id), Some(v));
        }
        assert!(uniform_depth(bulk.main.root()));
        for at in city.query_points(50, 8) {
            for required in [
                SkillSet::EMPTY,
                crate::synth::COMMON.into(),
                crate::synth::RARE.into(),
            ] {
                let q = Query::new(at, required, 5, crate::synth::NOW);
                assert_eq!(bulk.nearest_available(&q), one_by_one.nearest_available(&q));
            }
        }
    }

    /// Trees stay balanced through bulk loads and many moves (the rstar
    /// bulk-loader pitfall described on `lane::build_tree`).
    #[test]
    fn trees_stay_uniform_through_bulk_load_and_moves() {
        let city = crate::synth::City::new(9);
        let vols = city.volunteers(20_000, 10);
        let mut index = VolunteerIndex::bulk_load(MatcherConfig::default(), vols.iter().cloned());
        assert!(uniform_depth(index.main.root()));
        let mut rng = crate::synth::rng(11);
        let searchable = index.searchable_len();
        for v in vols.iter().filter(|v| v.on_duty).take(3000) {
            index
                .set_location(v.id, city.sample(&mut rng), crate::synth::NOW)
                .unwrap();
        }
        // Jumps leave tombstones (not yet a quarter of the live entries).
        assert_eq!(index.searchable_len(), searchable);
        assert!(index.main.dead() > 2000, "{index:?}");
        // A walk of 20,000 steps: tombstones never pass the repack fraction.
        let mut repacked = false;
        for (id, to) in crate::synth::walk(&vols, 20_000, 50.0, 13) {
            let before = index.main.dead();
            index.set_location(id, to, crate::synth::NOW).unwrap();
            repacked |= index.main.dead() < before;
            assert!(index.main.dead() as f64 <= 0.25 * index.main.len() as f64);
        }
        assert!(repacked);
        assert_eq!(index.searchable_len(), searchable);
        // Small steps too (many are moved in place, see `Lane::relocate`), with
        // and without location slack; answers must equal a fresh bulk load.
        for slack in [0.0, 30.0] {
            index.cfg.location_slack_m = slack;
            for v in vols.iter().filter(|v| v.on_duty).skip(3000).take(3000) {
                let from = index.get(v.id).unwrap().position.unwrap().at;
                index
                    .set_location(
                        v.id,
                        crate::synth::nudge(from, 40.0, &mut rng),
                        crate::synth::NOW,
                    )
                    .unwrap();
            }
            assert!(uniform_depth(index.main.root()));
            let fresh = VolunteerIndex::bulk_load(index.cfg.clone(), index.iter().cloned());
            for at in city.query_points(100, 12) {
                for required in [
                    SkillSet::EMPTY,
                    crate::synth::COMMON.into(),
                    crate::synth::RARE.into(),
                ] {
                    let q = Query::new(at, required, 5, crate::synth::NOW);
                    assert_eq!(index.nearest_available(&q), fresh.nearest_available(&q));
                }
            }
        }
        for t in index.skill_trees.iter().flatten() {
            assert!(uniform_depth(t.root()));
        }
    }
}
