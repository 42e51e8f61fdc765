//! A busy-period simulation of first-wave offers (feature `synth`): how a
//! fairness policy spreads offers over volunteers and what it costs in
//! travel. Orders arrive at random, half of them near a few hotspots; each
//! is offered, wave after wave, to the volunteers the index picks — the
//! dispatcher's own call, [`VolunteerIndex::nearest_available`], with the
//! policy's [`MatcherConfig`] — and each offered volunteer answers after a
//! random delay, accepting with a fixed probability. The first to accept
//! takes the order and is busy for its travel and service time; the others'
//! offers are withdrawn. Everything is seeded; the same scenario, policy and
//! seed give the same figures. Not for production use.
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use rand::Rng;
use zhongdui_domain::{GeoPoint, SkillSet, VolunteerId};

use crate::state::{MatcherConfig, Position, UnixTime, VolunteerState};
use crate::synth::{M_PER_DEG, NOW, rng};
use crate::{Query, VolunteerIndex};

/// The world and the people in it.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Volunteers, all on duty, placed uniformly in the square.
    pub volunteers: usize,
    /// Side of the square, metres.
    pub side_m: f64,
    /// Orders over the period.
    pub orders: usize,
    /// Length of the period, seconds (arrivals are a Poisson process).
    pub period_s: i64,
    /// Share of orders drawn near a hotspot (the rest uniform).
    pub hotspot_share: f64,
    /// Hotspots, placed uniformly in the middle of the square.
    pub hotspots: usize,
    /// Spread of the orders around a hotspot (Gaussian σ, metres).
    pub hotspot_sigma_m: f64,
    /// Chance that an offered volunteer accepts.
    pub accept: f64,
    /// An answer comes this many seconds after the offer, uniformly.
    pub answer_s: (i64, i64),
    /// Offers per wave (the normal wave factor × a headcount of one).
    pub wave: usize,
    /// Radius of each wave (metres); past the last the order is unfilled.
    pub radii_m: Vec<f64>,
    /// An unanswered offer expires after this many seconds.
    pub offer_timeout_s: i64,
    /// Time on scene after arriving, seconds, uniformly.
    pub service_s: (i64, i64),
    /// Travel speed to the scene, metres per second.
    pub speed_mps: f64,
}

impl Scenario {
    /// Issue 19's busy period: 100 volunteers in 2 × 2 km, 300 orders in one
    /// hour, half near three hotspots (σ 150 m), 85% of offers accepted,
    /// one offer per wave, 30 s to answer. A volunteer who takes an order is
    /// busy only for the way there (1.4 m/s) and 3–9 s: with these numbers
    /// nearest-only reproduces the figures (Gini 0.55, about 16
    /// volunteers never offered, 122–128 m).
    pub fn busy_period() -> Self {
        Scenario {
            volunteers: 100,
            side_m: 2_000.0,
            orders: 300,
            period_s: 3600,
            hotspot_share: 0.5,
            hotspots: 3,
            hotspot_sigma_m: 150.0,
            accept: 0.85,
            answer_s: (5, 25),
            wave: 1,
            radii_m: vec![1_000.0, 3_000.0, 10_000.0],
            offer_timeout_s: 30,
            service_s: (3, 9),
            speed_mps: 1.4,
        }
    }

    /// The same place over two hours with the product's normal wave (two
    /// offers for an order of one) and 1.5–4.5 minutes on scene.
    pub fn two_offer_waves() -> Self {
        Scenario {
            period_s: 2 * 3600,
            wave: 2,
            service_s: (90, 270),
            ..Self::busy_period()
        }
    }
}

/// The policies the benchmark compares, by name.
pub fn policies() -> Vec<(&'static str, MatcherConfig)> {
    let base = MatcherConfig::default();
    vec![
        (
            "nearest-only",
            MatcherConfig {
                fairness_epsilon_m: 0.0,
                max_offers_per_hour: None,
                offer_penalty_m: 0.0,
                ..base.clone()
            },
        ),
        (
            "before: ε 50 m, cap 6/h",
            MatcherConfig {
                fairness_epsilon_m: 50.0,
                max_offers_per_hour: Some(6),
                offer_penalty_m: 0.0,
                ..base.clone()
            },
        ),
        ("rotation 60 m/offer ≤ 250 m", rotation()),
        (
            "now: rotation, ε 50 m, cap 6/h",
            MatcherConfig {
                fairness_epsilon_m: 50.0,
                max_offers_per_hour: Some(6),
                ..rotation()
            },
        ),
    ]
}

/// Rotation alone: 60 m per offer of the last hour, at most 250 m, no ε and
/// no cap.
pub fn rotation() -> MatcherConfig {
    MatcherConfig {
        fairness_epsilon_m: 0.0,
        max_offers_per_hour: None,
        offer_penalty_m: 60.0,
        offer_penalty_max_m: 250.0,
        ..MatcherConfig::default()
    }
}

/// [`run`] over seeds `1..=seeds`, the figures averaged.
pub fn mean_over_seeds(scenario: &Scenario, cfg: &MatcherConfig, seeds: u64) -> Summary {
    let runs: Vec<Outcome> = (1..=seeds)
        .map(|seed| run(scenario, cfg.clone(), seed))
        .collect();
    let n = runs.len().max(1) as f64;
    let avg = |f: &dyn Fn(&Outcome) -> f64| runs.iter().map(f).sum::<f64>() / n;
    Summary {
        gini: avg(&|r| r.gini),
        never_offered: avg(&|r| r.never_offered as f64),
        top10_share: avg(&|r| r.top10_share),
        mean_travel_m: avg(&|r| r.mean_travel_m),
        p90_travel_m: avg(&|r| r.p90_travel_m),
        unfilled: avg(&|r| r.unfilled as f64),
        offers: avg(&|r| r.offers as f64),
        mean_fill_s: avg(&|r| r.mean_fill_s),
    }
}

/// Figures averaged over seeds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Gini of offers per volunteer.
    pub gini: f64,
    /// Volunteers never offered anything.
    pub never_offered: f64,
    /// Share of offers that went to the ten most offered.
    pub top10_share: f64,
    /// Mean travel of the volunteer who took an order, metres.
    pub mean_travel_m: f64,
    /// 90th percentile of that travel, metres.
    pub p90_travel_m: f64,
    /// Orders nobody took.
    pub unfilled: f64,
    /// Offers sent.
    pub offers: f64,
    /// Seconds from arrival to acceptance.
    pub mean_fill_s: f64,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Orders some volunteer took.
    pub filled: usize,
    /// Orders nobody took (every wave exhausted).
    pub unfilled: usize,
    /// Offers sent.
    pub offers: usize,
    /// Offers per volunteer, by volunteer.
    pub offers_by_volunteer: Vec<u32>,
    /// Gini coefficient of the offers per volunteer (0 equal, 1 one has all).
    pub gini: f64,
    /// Volunteers never offered anything.
    pub never_offered: usize,
    /// Share of all offers that went to the ten most offered volunteers.
    pub top10_share: f64,
    /// Mean distance from the volunteer who took an order to it, metres.
    pub mean_travel_m: f64,
    /// The 90th percentile of that distance, metres.
    pub p90_travel_m: f64,
    /// Mean seconds from an order's arrival to its acceptance.
    pub mean_fill_s: f64,
}

/// The Gini coefficient of non-negative counts (0 when all are zero).
pub fn gini(counts: &[u32]) -> f64 {
    let mut x: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
    x.sort_by(f64::total_cmp);
    let n = x.len() as f64;
    let sum: f64 = x.iter().sum();
    if sum == 0.0 || x.is_empty() {
        return 0.0;
    }
    let weighted: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i as f64 + 1.0) - n - 1.0) * v)
        .sum();
    weighted / (n * sum)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Order `i` arrives.
    Arrive(usize),
    /// Volunteer `v` answers its offer for order `i` of wave `w`.
    Answer {
        order: usize,
        wave: usize,
        v: usize,
        yes: bool,
    },
    /// Wave `w` of order `i` times out.
    Timeout { order: usize, wave: usize },
    /// Volunteer `v` is free again.
    Free(usize),
}

struct Open {
    at: GeoPoint,
    arrived: UnixTime,
    /// Waves sent so far (the current one is `wave`).
    wave: usize,
    /// Volunteers asked over all waves.
    asked: HashSet<usize>,
    /// Offers of the current wave not yet answered.
    pending: HashSet<usize>,
}

/// Runs `scenario` under the policy `cfg` with `seed`.
pub fn run(scenario: &Scenario, cfg: MatcherConfig, seed: u64) -> Outcome {
    let s = scenario;
    let mut rng = rng(seed);
    let (lat0, lon0) = (27.55_f64, 120.55_f64);
    let m_per_deg_lon = M_PER_DEG * lat0.to_radians().cos();
    let point = |x: f64, y: f64| {
        let (x, y) = (x.clamp(0.0, s.side_m), y.clamp(0.0, s.side_m));
        GeoPoint::parse(lat0 + y / M_PER_DEG, lon0 + x / m_per_deg_lon)
            .unwrap_or_else(|_| unreachable!("the square is near 27.55°N 120.55°E"))
    };
    let ids: Vec<VolunteerId> = (0..s.volunteers)
        .map(|_| VolunteerId(uuid::Uuid::from_u128(rng.random())))
        .collect();
    let slot: HashMap<VolunteerId, usize> =
        ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    let homes: Vec<GeoPoint> = (0..s.volunteers)
        .map(|_| {
            point(
                rng.random::<f64>() * s.side_m,
                rng.random::<f64>() * s.side_m,
            )
        })
        .collect();
    let start = NOW;
    // Volunteers stay at home and their phones keep reporting: no position
    // goes stale during the period.
    let cfg = MatcherConfig {
        max_location_age_s: s.period_s * 10 + 86_400,
        ..cfg
    };
    let index = VolunteerIndex::bulk_load(
        cfg,
        ids.iter().zip(&homes).map(|(id, at)| VolunteerState {
            position: Some(Position {
                at: *at,
                seen_at: start,
            }),
            on_duty: true,
            idle_since: start - 3600,
            ..VolunteerState::new(*id)
        }),
    );
    let spots: Vec<(f64, f64)> = (0..s.hotspots)
        .map(|_| {
            (
                s.side_m * (0.2 + 0.6 * rng.random::<f64>()),
                s.side_m * (0.2 + 0.6 * rng.random::<f64>()),
            )
        })
        .collect();
    let mut q = Queue::default();
    let mut points = Vec::with_capacity(s.orders);
    let mut t = start as f64;
    let mean_gap = s.period_s as f64 / s.orders as f64;
    for i in 0..s.orders {
        t += -mean_gap * (1.0 - rng.random::<f64>()).ln();
        let at = if rng.random::<f64>() < s.hotspot_share && !spots.is_empty() {
            let (x, y) = spots[rng.random_range(0..spots.len())];
            let (gx, gy) = gauss2(&mut rng);
            point(x + gx * s.hotspot_sigma_m, y + gy * s.hotspot_sigma_m)
        } else {
            point(
                rng.random::<f64>() * s.side_m,
                rng.random::<f64>() * s.side_m,
            )
        };
        points.push(at);
        q.push(t as UnixTime, Event::Arrive(i));
    }

    let mut w = World {
        s,
        index,
        ids,
        slot,
        rng,
        q,
        offers: vec![0u32; s.volunteers],
        holding: HashSet::new(),
        open: HashMap::new(),
        unfilled: 0,
    };
    let mut travel: Vec<f64> = Vec::new();
    let mut fill_s: Vec<f64> = Vec::new();

    while let Some(Reverse((now, _, e))) = w.q.heap.pop() {
        match e {
            Event::Arrive(i) => {
                let o = Open {
                    at: points[i],
                    arrived: now,
                    wave: 0,
                    asked: HashSet::new(),
                    pending: HashSet::new(),
                };
                w.next_wave(i, o, now);
            }
            Event::Answer {
                order,
                wave,
                v,
                yes,
            } => {
                let Some(o) = w.open.get_mut(&order) else {
                    continue;
                };
                if o.wave != wave || !o.pending.remove(&v) {
                    continue;
                }
                w.holding.remove(&v);
                if yes {
                    let Some(o) = w.open.remove(&order) else {
                        continue;
                    };
                    for p in &o.pending {
                        w.holding.remove(p);
                    }
                    let d = o.at.distance_m(&homes[v]);
                    travel.push(d);
                    fill_s.push((now - o.arrived) as f64);
                    let _ = w.index.set_active_tasks(w.ids[v], 1, now);
                    let busy = (d / s.speed_mps) as i64
                        + w.rng.random_range(s.service_s.0..=s.service_s.1);
                    w.q.push(now + busy, Event::Free(v));
                } else if o.pending.is_empty() {
                    let Some(o) = w.open.remove(&order) else {
                        continue;
                    };
                    w.next_wave(order, o, now);
                }
            }
            Event::Timeout { order, wave } => {
                if w.open.get(&order).is_none_or(|o| o.wave != wave) {
                    continue;
                }
                let Some(mut o) = w.open.remove(&order) else {
                    continue;
                };
                for p in o.pending.drain() {
                    w.holding.remove(&p);
                }
                w.next_wave(order, o, now);
            }
            Event::Free(v) => {
                let _ = w.index.set_active_tasks(w.ids[v], 0, now);
            }
        }
    }

    let offers = w.offers;
    let total: u32 = offers.iter().sum();
    let mut sorted = offers.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    let top10: u32 = sorted.iter().take(10).sum();
    travel.sort_by(f64::total_cmp);
    let mean = |v: &[f64]| {
        if v.is_empty() {
            0.0
        } else {
            v.iter().sum::<f64>() / v.len() as f64
        }
    };
    Outcome {
        filled: travel.len(),
        unfilled: w.unfilled,
        offers: total as usize,
        gini: gini(&offers),
        never_offered: offers.iter().filter(|&&c| c == 0).count(),
        top10_share: if total == 0 {
            0.0
        } else {
            f64::from(top10) / f64::from(total)
        },
        mean_travel_m: mean(&travel),
        p90_travel_m: travel
            .get(((travel.len() as f64) * 0.9) as usize)
            .or(travel.last())
            .copied()
            .unwrap_or(0.0),
        mean_fill_s: mean(&fill_s),
        offers_by_volunteer: offers,
    }
}

/// Events in time order (ties in the order they were queued).
#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Reverse<(UnixTime, u64, Event)>>,
    seq: u64,
}

impl Queue {
    fn push(&mut self, t: UnixTime, e: Event) {
        self.seq += 1;
        self.heap.push(Reverse((t, self.seq, e)));
    }
}

/// The simulation's moving parts.
struct World<'s> {
    s: &'s Scenario,
    index: VolunteerIndex,
    ids: Vec<VolunteerId>,
    slot: HashMap<VolunteerId, usize>,
    rng: rand_chacha::ChaCha8Rng,
    q: Queue,
    offers: Vec<u32>,
    /// Volunteers holding an unanswered offer (not offered anything else).
    holding: HashSet<usize>,
    open: HashMap<usize, Open>,
    unfilled: usize,
}

impl World<'_> {
    /// Sends the next wave of `order` that finds anyone, or gives up on it.
    fn next_wave(&mut self, order: usize, mut o: Open, now: UnixTime) {
        let s = self.s;
        while o.wave < s.radii_m.len() {
            let radius = s.radii_m[o.wave];
            o.wave += 1;
            let picks = {
                let (slot, holding, asked) = (&self.slot, &self.holding, &o.asked);
                let skip = |id: VolunteerId| {
                    slot.get(&id)
                        .is_none_or(|v| holding.contains(v) || asked.contains(v))
                };
                self.index.nearest_available(
                    &Query::new(o.at, SkillSet::EMPTY, s.wave, now)
                        .within_m(radius)
                        .excluding(&skip),
                )
            };
            if picks.is_empty() {
                continue;
            }
            for c in picks {
                let v = self.slot[&c.id];
                let _ = self.index.record_offer(c.id, now);
                self.offers[v] += 1;
                self.holding.insert(v);
                o.asked.insert(v);
                o.pending.insert(v);
                let yes = self.rng.random::<f64>() < s.accept;
                let after = self.rng.random_range(s.answer_s.0..=s.answer_s.1);
                if after < s.offer_timeout_s {
                    self.q.push(
                        now + after,
                        Event::Answer {
                            order,
                            wave: o.wave,
                            v,
                            yes,
                        },
                    );
                }
            }
            self.q.push(
                now + s.offer_timeout_s,
                Event::Timeout {
                    order,
                    wave: o.wave,
                },
            );
            self.open.insert(order, o);
            return;
        }
        self.unfilled += 1;
    }
}

/// Two independent standard normal numbers (Box–Muller).
fn gauss2(rng: &mut impl Rng) -> (f64, f64) {
    let u = 1.0 - rng.random::<f64>();
    let v = rng.random::<f64>();
    let r = (-2.0 * u.ln()).sqrt();
    let a = std::f64::consts::TAU * v;
    (r * a.cos(), r * a.sin())
}

#[cfg(test)]
mod tests {
    use super::gini;

    #[test]
    fn gini_of_known_distributions() {
        assert_eq!(gini(&[5, 5, 5, 5]), 0.0);
        assert!((gini(&[0, 0, 0, 4]) - 0.75).abs() < 1e-12);
        assert!((gini(&[1, 2, 3, 4]) - 0.25).abs() < 1e-12);
        assert_eq!(gini(&[0, 0]), 0.0);
    }
}
