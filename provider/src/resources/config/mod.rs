//! AWS Config: the `bankplatform_config_recorder` composite (recorder, delivery
//! channel, recording, and the bank-baseline pack of managed rules) and the
//! `bankplatform_config_aggregator` composite (the security account's view across
//! accounts and Regions).

pub mod aggregator;
pub mod recorder;
mod recorder_api;
