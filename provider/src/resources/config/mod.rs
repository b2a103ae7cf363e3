//! AWS Config: the `bankplatform_config_recorder` composite (recorder, delivery
//! channel, recording, and the bank-baseline pack of managed rules).

pub mod recorder;
mod recorder_api;
