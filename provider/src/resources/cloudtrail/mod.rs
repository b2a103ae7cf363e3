//! CloudTrail: the `bankplatform_audit_trail` composite (the trail, its log group,
//! role, key, alarm topic, and the CIS metric filters and alarms).

pub mod audit_trail;
mod trail_api;
mod trail_model;
