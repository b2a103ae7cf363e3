//! GuardDuty and Security Hub: the `bankplatform_threat_detection` composite.

pub mod threat_detection;
