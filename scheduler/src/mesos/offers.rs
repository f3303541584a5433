//! What to do with each offer: executors to launch from it, or a decline. Plain logic over the
//! offers' resources, as Spark's coarse-grained Mesos backend decided: executors of a fixed size
//! (or one taking all offered cpus), up to the framework's total cores, on agents that meet the
//! constraints and have not failed too often.

use std::collections::HashSet;

use super::constraints::Constraints;
use super::proto::{value, Offer, Resource};

/// Ports an executor takes from an offer: Flight, gRPC, health.
pub const PORTS_PER_EXECUTOR: usize = 3;

/// The executors wanted.
#[derive(Clone, Debug)]
pub struct Wanted {
    /// Total cores the framework may hold (`--cores-max`); `None`: no limit.
    pub cores_max: Option<f64>,
    /// Cores per executor; `None`: one executor per offer takes all its cpus.
    pub executor_cores: Option<f64>,
    /// MB asked of Mesos per executor: its memory and the overhead.
    pub executor_mem_mb: f64,
    pub constraints: Constraints,
    /// Seconds an offer declined for unmet constraints, or once the cores are held, is refused.
    pub refuse_seconds: f64,
}

/// One executor to launch from an offer.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    pub cpus: f64,
    pub mem_mb: f64,
    pub ports: [u64; PORTS_PER_EXECUTOR],
}

/// The decision on one offer.
#[derive(Clone, Debug, PartialEq)]
pub enum Decision {
    Accept(Vec<Launch>),
    /// Declined, with the filter's refuse seconds (`None`: Mesos' default) and why.
    Decline {
        refuse_seconds: Option<f64>,
        reason: String,
    },
}

/// Decides on `offers` for a framework holding `held_cores`; agents in `blocked` get nothing.
/// Returns one decision per offer, in order.
pub fn decide(
    offers: &[Offer],
    held_cores: f64,
    wanted: &Wanted,
    blocked: &HashSet<String>,
) -> Vec<Decision> {
    let mut held = held_cores;
    offers
        .iter()
        .map(|offer| {
            let agent = offer.agent_id.value.as_str();
            if blocked.contains(agent) {
                return Decision::Decline {
                    refuse_seconds: Some(wanted.refuse_seconds),
                    reason: format!("agent {agent} failed too many executors"),
                };
            }
            if let Some(unmet) = wanted.constraints.unmet(&offer.attributes) {
                return Decision::Decline {
                    refuse_seconds: Some(wanted.refuse_seconds),
                    reason: format!("constraint on '{}' unmet", unmet.attribute),
                };
            }
            let mut cpus = scalar(&offer.resources, "cpus");
            let mut mem = scalar(&offer.resources, "mem");
            let mut ports = ports(&offer.resources).into_iter();
            let mut launches = Vec::new();
            loop {
                let room = wanted.cores_max.map_or(f64::INFINITY, |max| max - held);
                let size = match wanted.executor_cores {
                    Some(size) => size,
                    None if launches.is_empty() => cpus.min(room).floor(),
                    None => break,
                };
                if size < 1.0 || size > cpus || size > room || wanted.executor_mem_mb > mem {
                    break;
                }
                let claimed: Vec<u64> = ports.by_ref().take(PORTS_PER_EXECUTOR).collect();
                let Ok(claimed) = <[u64; PORTS_PER_EXECUTOR]>::try_from(claimed) else {
                    break;
                };
                cpus -= size;
                mem -= wanted.executor_mem_mb;
                held += size;
                launches.push(Launch {
                    cpus: size,
                    mem_mb: wanted.executor_mem_mb,
                    ports: claimed,
                });
            }
            if !launches.is_empty() {
                return Decision::Accept(launches);
            }
            if wanted.cores_max.is_some_and(|max| held >= max) {
                Decision::Decline {
                    refuse_seconds: Some(wanted.refuse_seconds),
                    reason: "the cores wanted are held".to_string(),
                }
            } else {
                Decision::Decline {
                    refuse_seconds: None,
                    reason: "too few cpus, mem or ports for an executor".to_string(),
                }
            }
        })
        .collect()
}

/// The sum of a scalar resource of an offer.
fn scalar(resources: &[Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.as_ref())
        .map(|s| s.value)
        .sum()
}

/// Every port of an offer's port ranges, lowest first.
fn ports(resources: &[Resource]) -> Vec<u64> {
    let mut ports: Vec<u64> = resources
        .iter()
        .filter(|r| r.name == "ports" && r.r#type == value::Type::Ranges as i32)
        .filter_map(|r| r.ranges.as_ref())
        .flat_map(|r| &r.range)
        // An agent offers a thousand ports; an executor needs three.
        .flat_map(|r| r.begin..=r.end.min(r.begin + 64))
        .collect();
    ports.sort_unstable();
    ports.dedup();
    ports
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::proto::{value, AgentId, Attribute, FrameworkId, OfferId};

    fn offer(id: &str, agent: &str, cpus: f64, mem: f64, ports: (u64, u64)) -> Offer {
        let scalar = |name: &str, v: f64| Resource {
            name: name.into(),
            r#type: value::Type::Scalar as i32,
            scalar: Some(value::Scalar { value: v }),
            ..Default::default()
        };
        Offer {
            id: OfferId { value: id.into() },
            framework_id: FrameworkId { value: "fw".into() },
            agent_id: AgentId {
                value: agent.into(),
            },
            hostname: format!("{agent}.example"),
            resources: vec![
                scalar("cpus", cpus),
                scalar("mem", mem),
                Resource {
                    name: "ports".into(),
                    r#type: value::Type::Ranges as i32,
                    ranges: Some(value::Ranges {
                        range: vec![value::Range {
                            begin: ports.0,
                            end: ports.1,
                        }],
                    }),
                    ..Default::default()
                },
            ],
            ..Default::default()
        }
    }

    fn wanted(cores_max: Option<f64>, executor_cores: Option<f64>) -> Wanted {
        Wanted {
            cores_max,
            executor_cores,
            executor_mem_mb: 1024.0,
            constraints: Constraints::default(),
            refuse_seconds: 120.0,
        }
    }

    fn launched(decisions: &[Decision]) -> Vec<f64> {
        decisions
            .iter()
            .flat_map(|d| match d {
                Decision::Accept(l) => l.iter().map(|l| l.cpus).collect(),
                Decision::Decline { .. } => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn fixed_size_executors_fill_offers_up_to_the_cores_max() {
        let offers = [
            offer("o1", "a1", 4.0, 8192.0, (31000, 31010)),
            offer("o2", "a2", 4.0, 8192.0, (31000, 31010)),
        ];
        let decisions = decide(&offers, 0.0, &wanted(Some(6.0), Some(2.0)), &HashSet::new());
        assert_eq!(launched(&decisions), [2.0, 2.0, 2.0]);
        let Decision::Accept(first) = &decisions[0] else {
            panic!("{decisions:?}")
        };
        assert_eq!(first[0].ports, [31000, 31001, 31002]);
        assert_eq!(
            first[1].ports,
            [31003, 31004, 31005],
            "ports are not shared"
        );
        // Once the cores are held, offers are declined with the long filter.
        let decisions = decide(&offers, 6.0, &wanted(Some(6.0), Some(2.0)), &HashSet::new());
        assert_eq!(
            decisions[0],
            Decision::Decline {
                refuse_seconds: Some(120.0),
                reason: "the cores wanted are held".into()
            }
        );
    }

    #[test]
    fn without_a_size_one_executor_takes_an_offers_cpus() {
        let offers = [offer("o1", "a1", 3.5, 8192.0, (31000, 31010))];
        let decisions = decide(&offers, 1.0, &wanted(Some(3.0), None), &HashSet::new());
        assert_eq!(
            launched(&decisions),
            [2.0],
            "capped by what cores-max leaves"
        );
        let decisions = decide(&offers, 0.0, &wanted(None, None), &HashSet::new());
        assert_eq!(launched(&decisions), [3.0]);
    }

    #[test]
    fn too_little_memory_ports_or_a_blocked_agent_declines() {
        let mut small = wanted(None, Some(1.0));
        small.executor_mem_mb = 9000.0;
        let offers = [offer("o1", "a1", 4.0, 8192.0, (31000, 31010))];
        assert!(matches!(
            decide(&offers, 0.0, &small, &HashSet::new())[0],
            Decision::Decline {
                refuse_seconds: None,
                ..
            }
        ));
        let offers = [offer("o1", "a1", 4.0, 8192.0, (31000, 31001))];
        assert!(launched(&decide(
            &offers,
            0.0,
            &wanted(None, Some(1.0)),
            &HashSet::new()
        ))
        .is_empty());
        let blocked = HashSet::from(["a1".to_string()]);
        let offers = [offer("o1", "a1", 4.0, 8192.0, (31000, 31010))];
        assert!(launched(&decide(&offers, 0.0, &wanted(None, Some(1.0)), &blocked)).is_empty());
    }

    #[test]
    fn offers_failing_the_constraints_are_refused_long() {
        let mut offers = [offer("o1", "a1", 4.0, 8192.0, (31000, 31010))];
        offers[0].attributes = vec![Attribute {
            name: "rack".into(),
            r#type: value::Type::Text as i32,
            text: Some(value::Text { value: "r1".into() }),
            ..Default::default()
        }];
        let mut on_r2 = wanted(None, Some(1.0));
        on_r2.constraints = "rack:r2".parse().unwrap();
        assert_eq!(
            decide(&offers, 0.0, &on_r2, &HashSet::new())[0],
            Decision::Decline {
                refuse_seconds: Some(120.0),
                reason: "constraint on 'rack' unmet".into()
            }
        );
        on_r2.constraints = "rack:r1,r2".parse().unwrap();
        // Four cpus, but eleven ports: three executors.
        assert_eq!(
            launched(&decide(&offers, 0.0, &on_r2, &HashSet::new())).len(),
            3
        );
    }
}
