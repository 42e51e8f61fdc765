//! The busy-period simulation on fixed seeds (issue 19 part 3). The figures
//! themselves are benchmark results (`zhongdui-bench`'s `fairness_sim`, in
//! the README); these are the claims they support.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use zhongdui_matcher::sim::{Scenario, mean_over_seeds, policies, run};

const SEEDS: u64 = 10;

fn by_name(name: &str) -> zhongdui_matcher::MatcherConfig {
    policies()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c)
        .expect(name)
}

#[test]
fn the_scenario_is_the_concentrated_one_of_the_issue() {
    let s = mean_over_seeds(&Scenario::busy_period(), &by_name("nearest-only"), SEEDS);
    assert!((0.50..0.62).contains(&s.gini), "{s:?}");
    assert!(s.never_offered >= 10.0, "{s:?}");
    assert!((110.0..145.0).contains(&s.mean_travel_m), "{s:?}");
    assert!(s.unfilled <= 3.0, "{s:?}");
}

#[test]
fn rotation_levels_offers_for_little_travel() {
    for scenario in [Scenario::busy_period(), Scenario::two_offer_waves()] {
        let near = mean_over_seeds(&scenario, &by_name("nearest-only"), SEEDS);
        let rot = mean_over_seeds(&scenario, &by_name("rotation 60 m/offer ≤ 250 m"), SEEDS);
        assert!(rot.gini <= 0.82 * near.gini, "{near:?}\n{rot:?}");
        assert!(
            rot.mean_travel_m <= 1.10 * near.mean_travel_m,
            "{near:?}\n{rot:?}"
        );
        assert!(rot.never_offered < near.never_offered, "{near:?}\n{rot:?}");
        assert!(rot.unfilled <= near.unfilled, "{near:?}\n{rot:?}");
    }
}

#[test]
fn the_new_defaults_level_more_for_no_more_travel() {
    for scenario in [Scenario::busy_period(), Scenario::two_offer_waves()] {
        let before = mean_over_seeds(&scenario, &by_name("before: ε 50 m, cap 6/h"), SEEDS);
        let now = mean_over_seeds(&scenario, &by_name("now: rotation, ε 50 m, cap 6/h"), SEEDS);
        assert!(now.gini < before.gini, "{before:?}\n{now:?}");
        assert!(
            now.mean_travel_m <= 1.02 * before.mean_travel_m,
            "{before:?}\n{now:?}"
        );
    }
}

#[test]
fn a_seed_gives_the_same_figures_every_time() {
    let cfg = by_name("now: rotation, ε 50 m, cap 6/h");
    let a = run(&Scenario::busy_period(), cfg.clone(), 7);
    let b = run(&Scenario::busy_period(), cfg, 7);
    assert_eq!(a, b);
    assert_eq!(a.filled + a.unfilled, 300);
    assert_eq!(a.offers_by_volunteer.iter().sum::<u32>() as usize, a.offers);
}
