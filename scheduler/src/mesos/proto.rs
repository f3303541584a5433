//! The Mesos v1 types, generated at build time from Mesos' own `mesos.proto` and
//! `scheduler.proto`, and their JSON as the master reads and writes it.
//!
//! Mesos' JSON is not proto3's canonical JSON: keys are the proto field names (snake_case),
//! enums are their names, 64-bit integers are plain numbers, bytes are base64. The codec
//! goes through [`prost_reflect`]'s dynamic messages over the generated descriptors, with those
//! options, so that every type and field is the proto's and none is typed by hand.
//!
//! ```
//! use ardent_scheduler::mesos::proto::{self, scheduler::{call, Call}};
//! let call = Call {
//!     r#type: Some(call::Type::Teardown as i32),
//!     framework_id: Some(proto::FrameworkId { value: "fw-1".into() }),
//!     ..Default::default()
//! };
//! let json = proto::to_json(&call);
//! assert_eq!(json, r#"{"framework_id":{"value":"fw-1"},"type":"TEARDOWN"}"#);
//! assert_eq!(proto::from_json::<Call>(json.as_bytes()).unwrap(), call);
//! ```

use std::sync::OnceLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, SerializeOptions};

// Mesos' comments, carried over by prost, are not written for rustdoc.
#[allow(clippy::all, missing_docs, unused_qualifications, rustdoc::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/mesos.v1.rs"));

    #[allow(clippy::all, missing_docs, unused_qualifications)]
    pub mod scheduler {
        include!(concat!(env!("OUT_DIR"), "/mesos.v1.scheduler.rs"));
    }
}

pub use generated::*;

/// Why a message could not be read from Mesos' JSON.
#[derive(Debug, thiserror::Error)]
#[error("not a Mesos {message}: {reason}")]
pub struct JsonError {
    message: String,
    reason: String,
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(
            include_bytes!(concat!(env!("OUT_DIR"), "/mesos_descriptors.bin")).as_ref(),
        )
        .expect("the descriptors generated at build time decode")
    })
}

/// `message` in Mesos' JSON.
pub fn to_json<M: Message + Name>(message: &M) -> String {
    let descriptor = pool()
        .get_message_by_name(&M::full_name())
        .expect("every generated type has its descriptor");
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .expect("a message decodes as its own type");
    let options = SerializeOptions::new()
        .use_proto_field_name(true)
        .stringify_64_bit_integers(false)
        .skip_default_fields(true);
    let mut out = serde_json::Serializer::new(Vec::new());
    dynamic
        .serialize_with_options(&mut out, &options)
        .expect("a message serializes to JSON");
    String::from_utf8(out.into_inner()).expect("JSON is UTF-8")
}

/// A message from Mesos' JSON. Unknown keys are ignored, as the master ignores them.
pub fn from_json<M: Message + Name + Default>(json: &[u8]) -> Result<M, JsonError> {
    let error = |reason: String| JsonError {
        message: M::NAME.to_string(),
        reason,
    };
    let descriptor = pool()
        .get_message_by_name(&M::full_name())
        .expect("every generated type has its descriptor");
    let mut input = serde_json::Deserializer::from_slice(json);
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    let dynamic = DynamicMessage::deserialize_with_options(descriptor, &mut input, &options)
        .map_err(|e| error(e.to_string()))?;
    input.end().map_err(|e| error(e.to_string()))?;
    M::decode(dynamic.encode_to_vec().as_slice()).map_err(|e| error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::scheduler::{call, event, Call, Event};
    use super::*;

    #[test]
    fn events_read_as_the_master_writes_them() {
        // As the master sends them (notes/deployment.md 1.4-1.5), defaulted fields and all.
        let offers = br#"{"type":"OFFERS","offers":{"offers":[{"id":{"value":"O12"},
            "framework_id":{"value":"FW"},"agent_id":{"value":"S3"},"hostname":"agent3",
            "allocation_info":{"role":"lcmap"},
            "resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":16.0},"role":"*"},
              {"name":"ports","type":"RANGES","ranges":{"range":[{"begin":31000,"end":32000}]}}],
            "attributes":[{"name":"rack","type":"TEXT","text":{"value":"r12"}}],
            "executor_ids":[],"unknown_key":1}]}}"#;
        let event: Event = from_json(offers).unwrap();
        assert_eq!(event.r#type, Some(event::Type::Offers as i32));
        let offer = &event.offers.unwrap().offers[0];
        assert_eq!(offer.agent_id.value, "S3");
        assert_eq!(
            offer.resources[1].ranges.as_ref().unwrap().range[0].end,
            32000
        );
        assert_eq!(offer.attributes[0].text.as_ref().unwrap().value, "r12");

        let update = br#"{"type":"UPDATE","update":{"status":{"task_id":{"value":"t0"},
            "state":"TASK_FAILED","source":"SOURCE_EXECUTOR","reason":"REASON_COMMAND_EXECUTOR_FAILED",
            "agent_id":{"value":"S3"},"timestamp":1764103205.123,"uuid":"PyyafhtNTI6fCm1eTDsqGQ=="}}}"#;
        let status = from_json::<Event>(update).unwrap().update.unwrap().status;
        assert_eq!(status.state, TaskState::TaskFailed as i32);
        assert_eq!(status.uuid.as_ref().map(Vec::len), Some(16), "base64 bytes");

        let error = from_json::<Event>(br#"{"type":"ERROR","error":{"message":"removed"}}"#);
        assert_eq!(error.unwrap().error.unwrap().message, "removed");
        // A type of a newer Mesos reads as none, for the framework to skip.
        let newer = from_json::<Event>(br#"{"type":"NO_SUCH_EVENT"}"#).unwrap();
        assert_eq!(newer.r#type, None);
        let bad = from_json::<Event>(br#"{"type":"HEARTBEAT"} trailing"#).unwrap_err();
        assert!(bad.to_string().contains("not a Mesos Event"), "{bad}");
        assert!(from_json::<Event>(br#"{"offers":{"offers":[{"id":3}]}}"#).is_err());
    }

    #[test]
    fn calls_are_written_with_proto_names_and_explicit_defaults() {
        let task = TaskInfo {
            name: "ardent-executor 0".into(),
            task_id: TaskId { value: "t0".into() },
            agent_id: AgentId { value: "S3".into() },
            command: Some(CommandInfo {
                shell: Some(false),
                arguments: vec!["--vcores".into(), "4".into()],
                ..Default::default()
            }),
            container: Some(ContainerInfo {
                r#type: container_info::Type::Docker as i32,
                docker: Some(container_info::DockerInfo {
                    image: "ardent-executor:0.1.0".into(),
                    network: Some(container_info::docker_info::Network::Host as i32),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let call = Call {
            framework_id: Some(FrameworkId { value: "FW".into() }),
            r#type: Some(call::Type::Accept as i32),
            accept: Some(call::Accept {
                offer_ids: vec![OfferId {
                    value: "O12".into(),
                }],
                operations: vec![offer::Operation {
                    r#type: Some(offer::operation::Type::Launch as i32),
                    launch: Some(offer::operation::Launch {
                        task_infos: vec![task],
                    }),
                    ..Default::default()
                }],
                filters: Some(Filters {
                    refuse_seconds: Some(5.0),
                }),
            }),
            ..Default::default()
        };
        let json = to_json(&call);
        for expected in [
            r#""type":"ACCEPT""#,
            r#""offer_ids":[{"value":"O12"}]"#,
            r#""task_infos":[{"#,
            r#""agent_id":{"value":"S3"}"#,
            r#""shell":false"#,
            r#""type":"DOCKER""#,
            r#""network":"HOST""#,
            r#""refuse_seconds":5.0"#,
        ] {
            assert!(json.contains(expected), "{expected} in {json}");
        }
        assert_eq!(from_json::<Call>(json.as_bytes()).unwrap(), call);
    }
}
