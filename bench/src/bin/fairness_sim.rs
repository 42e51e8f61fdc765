//! The fairness simulation benchmark (issue 19 part 3): a busy period
//! replayed under several offer policies with the matcher's own selection,
//! printing the offers' Gini, volunteers never offered, the top ten's share
//! and the travel of whoever took each order, averaged over seeds.
//!
//! ```text
//! cargo run --release -p zhongdui-bench --bin fairness_sim [-- --seeds 10 --sweep]
//! ```
use clap::Parser;
use zhongdui_matcher::MatcherConfig;
use zhongdui_matcher::sim::{Scenario, Summary, mean_over_seeds, policies, rotation};

#[derive(Parser)]
#[command(about = "Offer fairness against travel in a simulated busy period")]
struct Args {
    /// Seeds averaged (1..=N).
    #[arg(long, default_value_t = 10)]
    seeds: u64,
    /// Also print rotation's penalty and maximum swept, with and without ε.
    #[arg(long)]
    sweep: bool,
}

fn row(name: &str, s: &Summary, base: &Summary) {
    println!(
        "| {name} | {:.3} ({:+.0}%) | {:.1} | {:.0}% | {:.1} m ({:+.1}%) | {:.0} m | {:.1} | {:.1} s |",
        s.gini,
        (s.gini / base.gini - 1.0) * 100.0,
        s.never_offered,
        s.top10_share * 100.0,
        s.mean_travel_m,
        (s.mean_travel_m / base.mean_travel_m - 1.0) * 100.0,
        s.p90_travel_m,
        s.unfilled,
        s.mean_fill_s,
    );
}

fn main() {
    let args = Args::parse();
    for (title, scenario) in [
        (
            "busy period (issue 19): 300 orders in 1 h, one offer per wave",
            Scenario::busy_period(),
        ),
        (
            "two-offer waves: 300 orders in 2 h, 1.5–4.5 min on scene",
            Scenario::two_offer_waves(),
        ),
    ] {
        println!("\n{title}; mean of seeds 1..={}\n", args.seeds);
        println!(
            "| policy | offers Gini | never offered | top 10 | mean travel | p90 travel | unfilled | to accept |"
        );
        println!("|---|---|---|---|---|---|---|---|");
        let mut base = None;
        let mut all = policies();
        if args.sweep {
            for pen in [30.0, 45.0, 60.0, 80.0] {
                for max in [150.0, 250.0, 400.0, f64::INFINITY] {
                    for eps in [0.0, 30.0] {
                        let name: &'static str =
                            Box::leak(format!("{pen} m/offer ≤ {max} m, ε {eps}").into_boxed_str());
                        all.push((
                            name,
                            MatcherConfig {
                                offer_penalty_m: pen,
                                offer_penalty_max_m: max,
                                fairness_epsilon_m: eps,
                                ..rotation()
                            },
                        ));
                    }
                }
            }
        }
        for (name, cfg) in all {
            let s = mean_over_seeds(&scenario, &cfg, args.seeds);
            let b = *base.get_or_insert(s);
            row(name, &s, &b);
        }
    }
}
