//! Support for ardent's integration tests (in integration/): the fake Mesos master.

pub mod mesos_master;
