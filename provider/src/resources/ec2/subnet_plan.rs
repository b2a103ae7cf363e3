//! Carves a VPC CIDR into one subnet per tier and availability zone, so that
//! a subnet's CIDR depends only on its tier and its zone letter, never on
//! list positions: adding or removing a zone or a tier never renumbers the
//! subnets that stay (the community VPC modules' most-reported defect).
//!
//! Layout: tiers are placed largest subnets first (ties in the order
//! public, private, restricted, then by name). Each tier gets an aligned
//! region of [`SLOTS`] subnets; zone `x` takes slot `x - 'a'`.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Subnets reserved per tier: one per zone letter a..h.
pub const SLOTS: u32 = 8;

/// Default subnet prefix length per tier.
pub const DEFAULT_PREFIXES: &[(&str, u8)] = &[("public", 24), ("private", 20), ("restricted", 24)];

/// Why a plan is impossible; the text names the numbers involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The VPC CIDR does not parse or is out of AWS's range.
    #[error("{0}")]
    VpcCidr(String),
    /// A zone name cannot be placed.
    #[error("{0}")]
    Zone(String),
    /// A tier's prefix is impossible or does not fit.
    #[error("{0}")]
    Tier(String),
}

fn tier_rank(t: &str) -> usize {
    ["public", "private", "restricted"]
        .iter()
        .position(|x| *x == t)
        .unwrap_or(3)
}

/// The slot of a zone: its final letter (`eu-west-1c` → 2).
pub fn zone_slot(zone: &str) -> Result<u32, PlanError> {
    match zone.chars().last() {
        Some(c @ 'a'..='h') => Ok(c as u32 - 'a' as u32),
        _ => Err(PlanError::Zone(format!(
            "availability zone \"{zone}\" must end with a letter from a to h (e.g. eu-west-1a)"
        ))),
    }
}

/// Parses and checks a VPC CIDR (AWS allows /16 to /28).
pub fn parse_vpc_cidr(cidr: &str) -> Result<Ipv4Net, PlanError> {
    let net: Ipv4Net = cidr.parse().map_err(|_| {
        PlanError::VpcCidr(format!(
            "\"{cidr}\" is not an IPv4 CIDR block such as 10.0.0.0/16"
        ))
    })?;
    if net.network() != net.addr() {
        return Err(PlanError::VpcCidr(format!(
            "\"{cidr}\" has host bits set; the block starts at {}",
            net.trunc()
        )));
    }
    if !(16..=28).contains(&net.prefix_len()) {
        return Err(PlanError::VpcCidr(format!(
            "a VPC CIDR must be /16 to /28; \"{cidr}\" is /{}",
            net.prefix_len()
        )));
    }
    Ok(net)
}

/// Plans subnets: tier → zone → CIDR.
pub fn plan(
    vpc: Ipv4Net,
    zones: &[String],
    prefixes: &BTreeMap<String, u8>,
) -> Result<BTreeMap<String, BTreeMap<String, Ipv4Net>>, PlanError> {
    let mut seen = BTreeMap::new();
    for z in zones {
        let slot = zone_slot(z)?;
        if let Some(other) = seen.insert(slot, z) {
            return Err(PlanError::Zone(format!(
                "availability zones \"{other}\" and \"{z}\" would share subnet slot {slot}: list each zone once"
            )));
        }
    }
    let mut tiers: Vec<(&String, u8)> = prefixes.iter().map(|(t, p)| (t, *p)).collect();
    tiers.sort_by_key(|(t, p)| (*p, tier_rank(t), (*t).clone()));

    let vpc_start = u32::from(vpc.network()) as u64;
    let vpc_end = vpc_start + (1u64 << (32 - vpc.prefix_len()));
    let mut next = vpc_start;
    let mut placed: Vec<String> = Vec::new();
    let mut out = BTreeMap::new();
    for (tier, prefix) in tiers {
        if !(vpc.prefix_len() + 3..=28).contains(&prefix) {
            return Err(PlanError::Tier(format!(
                "tier \"{tier}\" asks for /{prefix} subnets; in a /{} VPC they must be /{} to /28 ({SLOTS} per tier must fit)",
                vpc.prefix_len(),
                vpc.prefix_len() + 3
            )));
        }
        let subnet_size = 1u64 << (32 - prefix);
        let region_size = subnet_size * u64::from(SLOTS);
        let start = next.div_ceil(region_size) * region_size;
        if start + region_size > vpc_end {
            let left = vpc_end.saturating_sub(next);
            return Err(PlanError::Tier(format!(
                "tier \"{tier}\" needs {SLOTS} × /{prefix} (a /{} block, {region_size} addresses) but only {left} addresses are left in {vpc}{}; use longer prefixes or a larger VPC",
                prefix - 3,
                if placed.is_empty() { String::new() } else { format!(" after {}", placed.join(" and ")) }
            )));
        }
        let mut by_zone = BTreeMap::new();
        for z in zones {
            let addr = start + u64::from(zone_slot(z)?) * subnet_size;
            let net = Ipv4Net::new(Ipv4Addr::from(addr as u32), prefix)
                .map_err(|e| PlanError::Tier(e.to_string()))?;
            by_zone.insert(z.clone(), net);
        }
        out.insert(tier.clone(), by_zone);
        placed.push(format!(
            "{tier} ({}/{})",
            Ipv4Addr::from(start as u32),
            prefix - 3
        ));
        next = start + region_size;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> BTreeMap<String, u8> {
        DEFAULT_PREFIXES
            .iter()
            .map(|(t, p)| (t.to_string(), *p))
            .collect()
    }

    fn zones(z: &[&str]) -> Vec<String> {
        z.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn three_tiers_in_a_slash_16() {
        let p = plan(
            parse_vpc_cidr("10.0.0.0/16").unwrap(),
            &zones(&["us-east-1a", "us-east-1b", "us-east-1c"]),
            &defaults(),
        )
        .unwrap();
        assert_eq!(p["private"]["us-east-1a"].to_string(), "10.0.0.0/20");
        assert_eq!(p["private"]["us-east-1c"].to_string(), "10.0.32.0/20");
        assert_eq!(p["public"]["us-east-1a"].to_string(), "10.0.128.0/24");
        assert_eq!(p["restricted"]["us-east-1b"].to_string(), "10.0.137.0/24");
    }

    #[test]
    fn adding_a_zone_keeps_the_others() {
        let vpc = parse_vpc_cidr("10.1.0.0/16").unwrap();
        let two = plan(vpc, &zones(&["eu-west-1a", "eu-west-1b"]), &defaults()).unwrap();
        let three = plan(
            vpc,
            &zones(&["eu-west-1a", "eu-west-1b", "eu-west-1c"]),
            &defaults(),
        )
        .unwrap();
        for (tier, by_zone) in &two {
            for (z, net) in by_zone {
                assert_eq!(three[tier][z], *net, "{tier}/{z} moved");
            }
        }
        // Removing a zone in the middle keeps the rest as well.
        let gap = plan(vpc, &zones(&["eu-west-1a", "eu-west-1c"]), &defaults()).unwrap();
        assert_eq!(gap["public"]["eu-west-1c"], three["public"]["eu-west-1c"]);
    }

    #[test]
    fn no_two_subnets_overlap() {
        let p = plan(
            parse_vpc_cidr("10.2.0.0/16").unwrap(),
            &zones(&["a-1a", "a-1b", "a-1c", "a-1d", "a-1e", "a-1f"]),
            &defaults(),
        )
        .unwrap();
        let all: Vec<Ipv4Net> = p.values().flat_map(|m| m.values().copied()).collect();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(!a.contains(b) && !b.contains(a), "{a} overlaps {b}");
            }
        }
    }

    #[test]
    fn errors_name_the_numbers() {
        let e = plan(
            parse_vpc_cidr("10.0.0.0/24").unwrap(),
            &zones(&["x-1a"]),
            &defaults(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/20"), "{e}");
        let small: BTreeMap<String, u8> = [
            ("public".to_string(), 26),
            ("private".to_string(), 26),
            ("restricted".to_string(), 26),
        ]
        .into();
        let e = plan(
            parse_vpc_cidr("10.0.0.0/22").unwrap(),
            &zones(&["x-1a"]),
            &small,
        )
        .unwrap_err();
        assert!(e.to_string().contains("addresses are left"), "{e}");
        assert!(parse_vpc_cidr("10.0.0.1/16")
            .unwrap_err()
            .to_string()
            .contains("host bits"));
        assert!(parse_vpc_cidr("10.0.0.0/8")
            .unwrap_err()
            .to_string()
            .contains("/16 to /28"));
        assert!(zone_slot("eu-west-1z").is_err());
        let dup = plan(
            parse_vpc_cidr("10.0.0.0/16").unwrap(),
            &zones(&["a-1a", "b-1a"]),
            &defaults(),
        )
        .unwrap_err();
        assert!(dup.to_string().contains("share subnet slot"), "{dup}");
    }
}
