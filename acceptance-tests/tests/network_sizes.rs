//! Networks smaller than /16 (a thousand accounts do not fit a /16 each in
//! 10.0.0.0/8): the tiers the generator sizes for a VPC of each prefix are what the
//! provider's own subnet planner accepts for every zone count, and a spec with
//! `network { prefix = 20 }` generates with those sizes.

use std::collections::BTreeMap;
use std::path::Path;

use bankplatform_gen::init::{spec_text, SpecParams};
use bankplatform_gen::layout;
use bankplatform_gen::render::{self, Paths};
use bankplatform_gen::spec::{self, tier_prefixes};
use bankplatform_provider::resources::ec2::subnet_plan;

#[test]
fn the_sized_tiers_fit_the_providers_planner_from_16_to_23() {
    for p in 16u8..=23 {
        let vpc = subnet_plan::parse_vpc_cidr(&format!("10.0.0.0/{p}")).unwrap();
        let prefixes: BTreeMap<String, u8> = tier_prefixes(p)
            .iter()
            .map(|(t, l)| (t.to_string(), *l))
            .collect();
        for az in 1..=8u8 {
            let zones: Vec<String> = (0..az)
                .map(|i| format!("eu-west-1{}", (b'a' + i) as char))
                .collect();
            subnet_plan::plan(vpc, &zones, &prefixes)
                .unwrap_or_else(|e| panic!("/{p} with {az} zones: {e}"));
        }
    }
    // A /16 keeps the provider's defaults: existing networks never renumber.
    let defaults: Vec<(&str, u8)> = subnet_plan::DEFAULT_PREFIXES.to_vec();
    let mut sixteen = tier_prefixes(16).to_vec();
    sixteen.sort_by_key(|(t, _)| defaults.iter().position(|(d, _)| d == t));
    assert_eq!(sixteen, defaults);
}

#[test]
fn a_spec_with_prefix_20_generates_sized_subnets_and_24_is_refused() {
    let base = spec_text(&SpecParams::example());
    let twenty = base.replace(
        "prefix                   = 16",
        "prefix                   = 20",
    );
    assert_ne!(twenty, base, "the example sets prefix = 16");
    let spec = spec::parse(Path::new("p20.hcl"), &twenty).expect("/20 networks are accepted");
    let files = render::render(&layout::resolve(&spec), &Paths::new("/out"));
    let net = files
        .iter()
        .find(|f| f.path == "live/development/eu-west-1/network/main.tf")
        .expect("development's network root")
        .text();
    assert!(
        net.contains("cidr_block               = \"10.0.0.0/20\""),
        "{net}"
    );
    for line in [
        "public_subnet_prefix     = 28",
        "private_subnet_prefix    = 24",
        "restricted_subnet_prefix = 28",
    ] {
        assert!(net.contains(line), "{line} missing from\n{net}");
    }
    let too_small = base.replace(
        "prefix                   = 16",
        "prefix                   = 24",
    );
    let e = spec::parse(Path::new("p24.hcl"), &too_small).unwrap_err();
    assert!(
        e.0.iter().any(|e| e.message.contains("use /23 or larger")),
        "{:?}",
        e.0
    );
}
