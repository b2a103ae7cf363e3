//! SNS: the `bankplatform_alarm_topic` composite, and the topic policy every topic
//! the provider makes gets (the audit trail's alarm topic too).

pub mod alarm_topic;
pub(crate) mod topic_policy;
