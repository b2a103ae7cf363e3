//! Property tests over random small specs: generation is deterministic, every HCL file
//! parses back (with `hcl::parse`) to exactly the `Body` it was rendered from, and the
//! alignment pass is idempotent.

use std::path::Path;

use bankplatform_gen::init::{spec_text, EnvParams, SpecParams};
use bankplatform_gen::render::{self, align, Content, Paths};
use bankplatform_gen::{layout, spec};
use proptest::prelude::*;

const REGIONS: &[&str] = &["eu-west-1", "eu-central-1", "us-east-1", "ap-southeast-2"];
const DR: &[&str] = &[
    "backup_restore",
    "pilot_light",
    "warm_standby",
    "multi_region",
];

fn params() -> impl Strategy<Value = SpecParams> {
    (
        "[a-z][a-z0-9]{2,10}",
        0..REGIONS.len(),
        proptest::option::of(0..REGIONS.len()),
        proptest::collection::vec(
            (
                0..DR.len(),
                proptest::option::of(0..REGIONS.len()),
                any::<bool>(),
            ),
            1..5,
        ),
        any::<bool>(),
    )
        .prop_map(|(org, p, s, envs, with_ids)| {
            let primary = REGIONS[p].to_string();
            let secondary = s.filter(|&s| s != p).map(|s| REGIONS[s].to_string());
            let environments = envs
                .into_iter()
                .enumerate()
                .map(|(i, (dr, region, id))| {
                    let region = region
                        .map(|r| REGIONS[r].to_string())
                        .filter(|r| Some(r) != secondary.as_ref());
                    let dr = if secondary.is_some() { DR[dr] } else { DR[0] };
                    EnvParams {
                        name: format!("env{i}"),
                        account: format!("workload-{i}"),
                        account_id: id.then(|| format!("{:012}", 300_000_000_000u64 + i as u64)),
                        dr_strategy: dr.into(),
                        region,
                        secondary_region: None,
                        cidr: (i == 0).then(|| "172.16.0.0/16".to_string()),
                    }
                })
                .collect();
            SpecParams {
                organization: org,
                primary,
                secondary,
                environments,
                with_ids,
                prefix: 16,
                az_count: 3,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn generation_is_deterministic_and_round_trips(p in params()) {
        let text = spec_text(&p);
        let spec = spec::parse(Path::new("p.hcl"), &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let paths = Paths::new("/out");
        let a = render::render(&layout::resolve(&spec), &paths);
        let again = spec::parse(Path::new("p.hcl"), &text).unwrap();
        let b = render::render(&layout::resolve(&again), &paths);
        prop_assert_eq!(a.len(), b.len());
        for (fa, fb) in a.iter().zip(&b) {
            prop_assert_eq!(&fa.path, &fb.path);
            let ta = fa.text();
            prop_assert_eq!(&ta, &fb.text());
            if let Content::Hcl(body) = &fa.content {
                let parsed = hcl::parse(&ta).map_err(|e| TestCaseError::fail(format!("{}: {e}", fa.path)))?;
                prop_assert_eq!(&parsed, body, "{} does not parse back to its Body", fa.path);
                prop_assert_eq!(align(&ta), ta.clone());
            }
        }
        // Paths are sorted and unique.
        prop_assert!(a.windows(2).all(|w| w[0].path < w[1].path));
    }
}
