//! The Mesos task of one executor: an `ardent-executor` container of the executor image, on the
//! host's network, with the ports, cores and memory taken from the offer.

use super::offers::Launch;
use super::options::Settings;
use super::proto::{
    container_info, value, AgentId, CommandInfo, ContainerInfo, Offer, Parameter, Resource, TaskId,
    TaskInfo, Volume,
};

/// The task launching executor `task_id` (also its Ballista executor id) from `offer`.
pub fn executor_task(
    settings: &Settings,
    offer: &Offer,
    task_id: &str,
    launch: &Launch,
) -> TaskInfo {
    let [flight, grpc, health] = launch.ports;
    let arguments = [
        ("--id", task_id.to_string()),
        ("--scheduler-host", settings.scheduler_host.clone()),
        ("--scheduler-port", settings.scheduler_port.to_string()),
        ("--bind-host", "0.0.0.0".to_string()),
        ("--external-host", offer.hostname.clone()),
        ("--bind-port", flight.to_string()),
        ("--bind-grpc-port", grpc.to_string()),
        ("--bind-health-port", health.to_string()),
        ("--vcores", (launch.cpus as u64).to_string()),
        ("--memory-pool-size", settings.executor_memory.to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_string(), value])
    .collect();
    let role = offer.allocation_info.as_ref().and_then(|a| a.role.clone());
    let scalar = |name: &str, amount: f64| Resource {
        name: name.to_string(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        allocation_info: role
            .clone()
            .map(|role| super::proto::resource::AllocationInfo { role: Some(role) }),
        ..Default::default()
    };
    let mut ports = scalar("ports", 0.0);
    ports.r#type = value::Type::Ranges as i32;
    ports.scalar = None;
    ports.ranges = Some(value::Ranges {
        range: launch
            .ports
            .iter()
            .map(|&p| value::Range { begin: p, end: p })
            .collect(),
    });
    TaskInfo {
        name: format!("{} executor {task_id}", settings.name),
        task_id: TaskId {
            value: task_id.to_string(),
        },
        agent_id: AgentId {
            value: offer.agent_id.value.clone(),
        },
        resources: vec![
            scalar("cpus", launch.cpus),
            scalar("mem", launch.mem_mb),
            ports,
        ],
        command: Some(CommandInfo {
            // The image's entrypoint (tini, ardent-executor) takes these as its arguments.
            shell: Some(false),
            arguments,
            ..Default::default()
        }),
        container: Some(ContainerInfo {
            r#type: container_info::Type::Docker as i32,
            docker: Some(container_info::DockerInfo {
                image: settings.image.clone(),
                network: Some(container_info::docker_info::Network::Host as i32),
                force_pull_image: Some(settings.force_pull_image),
                parameters: settings
                    .parameters
                    .iter()
                    .map(|(key, value)| Parameter {
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect(),
                ..Default::default()
            }),
            volumes: settings
                .volumes
                .iter()
                .map(|v| Volume {
                    container_path: v.container_path.clone(),
                    host_path: v.host_path.clone(),
                    mode: if v.read_only {
                        super::proto::volume::Mode::Ro as i32
                    } else {
                        super::proto::volume::Mode::Rw as i32
                    },
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}
