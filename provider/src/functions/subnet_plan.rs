//! `provider::bankplatform::subnet_plan(vpc_cidr, availability_zones, prefix_lengths)`:
//! the CIDR of every subnet of a 3-tier VPC, keyed by tier and zone, exactly
//! as `bankplatform_hardened_vpc` carves them (stable when zones are added or
//! removed). Useful for firewall rules and IPAM records before a VPC exists.

use std::collections::BTreeMap;

use crate::framework::function::{Function, FunctionError, Parameter};
use crate::resources::ec2::subnet_plan::{self, DEFAULT_PREFIXES};
use crate::value::{Type, Value};

/// The function.
pub(crate) struct SubnetPlan;

impl Function for SubnetPlan {
    fn name(&self) -> &'static str {
        "subnet_plan"
    }
    fn summary(&self) -> &'static str {
        "Plans the subnets of a 3-tier VPC: tier → availability zone → CIDR."
    }
    fn description(&self) -> &'static str {
        "Carves `vpc_cidr` into one subnet per tier and availability zone. A subnet's CIDR depends only on its tier and its zone's letter, so adding or removing zones never renumbers the others. `prefix_lengths` maps tier names to subnet prefix lengths; an empty map means public /24, private /20, restricted /24."
    }
    fn parameters(&self) -> Vec<Parameter> {
        vec![
            Parameter { name: "vpc_cidr", ty: Type::String, description: "The VPC's IPv4 CIDR block, /16 to /28." },
            Parameter { name: "availability_zones", ty: Type::list(Type::String), description: "Zone names, e.g. [\"eu-west-1a\", \"eu-west-1b\"]." },
            Parameter { name: "prefix_lengths", ty: Type::map(Type::Number), description: "Tier name → subnet prefix length, e.g. { public = 24, private = 20, restricted = 24 }." },
        ]
    }
    fn return_type(&self) -> Type {
        Type::map(Type::map(Type::String))
    }
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let cidr = args.first().and_then(Value::as_str).unwrap_or_default();
        let vpc = subnet_plan::parse_vpc_cidr(cidr)
            .map_err(|e| FunctionError::argument(0, e.to_string()))?;
        let zones: Vec<String> = args
            .get(1)
            .and_then(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter_map(|z| z.as_str().map(str::to_string))
            .collect();
        if zones.is_empty() {
            return Err(FunctionError::argument(
                1,
                "give at least one availability zone",
            ));
        }
        let mut prefixes = BTreeMap::new();
        for (tier, p) in args.get(2).and_then(Value::as_map).into_iter().flatten() {
            match p.as_i64() {
                Some(n @ 0..=32) => {
                    prefixes.insert(tier.clone(), n as u8);
                }
                _ => {
                    return Err(FunctionError::argument(
                        2,
                        format!(
                            "prefix length of tier \"{tier}\" must be a whole number from 16 to 28"
                        ),
                    ))
                }
            }
        }
        if prefixes.is_empty() {
            prefixes = DEFAULT_PREFIXES
                .iter()
                .map(|(t, p)| (t.to_string(), *p))
                .collect();
        }
        let plan = subnet_plan::plan(vpc, &zones, &prefixes).map_err(|e| {
            let arg = if matches!(e, subnet_plan::PlanError::Zone(_)) {
                1
            } else {
                2
            };
            FunctionError::argument(arg, e.to_string())
        })?;
        Ok(Value::Map(
            plan.into_iter()
                .map(|(tier, by_zone)| {
                    (
                        tier,
                        Value::string_map(by_zone.into_iter().map(|(z, n)| (z, n.to_string()))),
                    )
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_and_blames_the_right_argument() {
        let f = SubnetPlan;
        let ok = f
            .call(&[
                Value::string("10.0.0.0/16"),
                Value::List(vec![Value::string("us-east-1a")]),
                Value::Map(BTreeMap::new()),
            ])
            .unwrap();
        assert_eq!(
            ok.as_map().unwrap()["public"].as_map().unwrap()["us-east-1a"],
            Value::string("10.0.128.0/24")
        );
        let bad = f
            .call(&[
                Value::string("10.0.0.0/8"),
                Value::List(vec![Value::string("us-east-1a")]),
                Value::Map(BTreeMap::new()),
            ])
            .unwrap_err();
        assert_eq!(bad.argument, Some(0));
        let bad_zone = f
            .call(&[
                Value::string("10.0.0.0/16"),
                Value::List(vec![Value::string("zone-9")]),
                Value::Map(BTreeMap::new()),
            ])
            .unwrap_err();
        assert_eq!(bad_zone.argument, Some(1));
    }
}
