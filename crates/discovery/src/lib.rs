//! Discovery of Gloo installations.
//!
//! A pure translator will turn what is observed on one cluster (Deployments, DaemonSets, Pods, Nodes,
//! Services, Settings and Gloo resources with their statuses) into that cluster's `GlooInstance` specs,
//! field by field as Gloo Fed does, with its gaps fixed: control planes found by labels and image even
//! when not named `gloo`, every zone kept, Services that yield no endpoint reported.
