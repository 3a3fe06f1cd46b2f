//! The work in flight during every scenario: bulk create, update every object, delete some —
//! written as a user would, retrying while the admin API server is away.

use std::time::{Duration, Instant};

use futures::StreamExt;
use gatefed_model::federated::FederatedKind;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::{MEMBERS, NS};

/// How much work.
#[derive(Clone, Copy, Debug)]
pub struct Size {
    pub objects: usize,
    pub deletes: usize,
}

/// Where the workload is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Idle,
    Creating,
    Updating,
    Deleting,
    Done,
}

/// One scenario's objects: `<tag>-<i>`.
#[derive(Clone, Debug)]
pub struct Workload {
    pub tag: String,
    pub size: Size,
}

impl Workload {
    pub fn name(&self, i: usize) -> String {
        format!("{}-{i}", self.tag)
    }

    /// Even objects go to every member, odd ones to east and west only (so north must not get them).
    pub fn clusters(i: usize) -> &'static [&'static str] {
        if i.is_multiple_of(2) { &MEMBERS } else { &MEMBERS[..2] }
    }

    /// The first `deletes` objects are deleted.
    pub fn deleted(&self, i: usize) -> bool {
        i < self.size.deletes
    }

    /// The address the child carries at `version` (the object's generation).
    pub fn addr(&self, i: usize, version: i64) -> String {
        format!("{}.v{version}.internal", self.name(i))
    }

    fn object(&self, i: usize, version: i64) -> Value {
        json!({"apiVersion": "fed.gloo.solo.io/v1", "kind": "FederatedUpstream",
               "metadata": {"name": self.name(i), "namespace": NS},
               "spec": {"placement": {"clusters": Self::clusters(i), "namespaces": [NS]},
                        "template": {"metadata": {"name": self.name(i)},
                                     "spec": {"static": {"hosts": [{"addr": self.addr(i, version), "port": 80}]}}}}})
    }

    /// Member writes if every change were written once (creates, updates, deletes); fewer when an
    /// update overtakes its create, more than half again is a write storm.
    pub fn planned_writes(&self) -> u64 {
        let per = |i: usize| Self::clusters(i).len() as u64;
        let all: u64 = (0..self.size.objects).map(per).sum();
        let deleted: u64 = (0..self.size.deletes).map(per).sum();
        2 * all + deleted
    }

    /// Runs the three phases back to back, announcing each.
    pub async fn run(self, admin: kube::Client, phase: watch::Sender<Phase>) -> anyhow::Result<()> {
        let api: Api<DynamicObject> = Api::namespaced_with(admin, NS, &FederatedKind::Upstream.gvk().api_resource());
        for (p, version) in [(Phase::Creating, 1), (Phase::Updating, 2)] {
            let _ = phase.send(p);
            let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..self.size.objects)
                .map(|i| apply(&api, self.name(i), self.object(i, version)))
                .buffer_unordered(16)
                .collect()
                .await;
            results.into_iter().collect::<anyhow::Result<()>>()?;
        }
        let _ = phase.send(Phase::Deleting);
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..self.size.deletes)
            .map(|i| delete(&api, self.name(i)))
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<anyhow::Result<()>>()?;
        let _ = phase.send(Phase::Done);
        Ok(())
    }
}

impl Workload {
    /// Deletes every object still there and waits until they are gone (their finalizer removed once
    /// their children are).
    pub async fn clean_up(&self, admin: kube::Client) -> anyhow::Result<()> {
        let api: Api<DynamicObject> = Api::namespaced_with(admin, NS, &FederatedKind::Upstream.gvk().api_resource());
        let names: Vec<String> = (self.size.deletes..self.size.objects).map(|i| self.name(i)).collect();
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(names.clone())
            .map(|n| delete(&api, n))
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<anyhow::Result<()>>()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        for n in names {
            while api.get_opt(&n).await?.is_some() {
                anyhow::ensure!(Instant::now() < deadline, "{n} still there 120 s after its delete");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }
}

/// A user's write: retried for up to two minutes (the admin API server may be restarting).
async fn apply(api: &Api<DynamicObject>, name: String, object: Value) -> anyhow::Result<()> {
    let object: DynamicObject = serde_json::from_value(object)?;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match api
            .patch(&name, &PatchParams::apply("chaos-user").force(), &Patch::Apply(&object))
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => anyhow::bail!("apply {name}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn delete(api: &Api<DynamicObject>, name: String) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => return Ok(()),
            Err(e) if Instant::now() > deadline => anyhow::bail!("delete {name}: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
