//! `tolk serve`: an HTTP translation server over the batched search.
//!
//! Requests come in through the LibreTranslate API ([`libre`]) or tolk's native API
//! ([`native`]), are checked against the [`Limits`] and queued whole in their model's bounded
//! [`queue`]; each model's [`batcher`] thread fills batches round-robin from all waiting
//! requests (so concurrent requests share a search, and a long one does not starve a short
//! one) and sends every sentence's answer back to its request.
//!
//! Layers: [`settings`] → [`job`] → [`queue`] → [`batcher`] → [`model_pool`] → [`state`] →
//! the handlers ([`libre`], [`native`], [`page`], [`openapi`]) → [`router`] → [`server`].

pub mod access;
pub mod activity;
pub(crate) mod batcher;
pub mod body;
pub mod error;
pub mod format;
pub mod gate;
pub mod job;
pub mod libre;
pub mod metrics;
pub mod model_pool;
pub mod native;
pub mod openapi;
pub mod page;
pub mod queue;
pub mod router;
pub mod server;
pub mod settings;
pub mod state;

pub use access::{Access, AccessPolicy, ApiKeys, CorsOrigins};
pub use error::ApiError;
pub use metrics::ServerMetrics;
pub use model_pool::{ModelPool, ModelSpec, ServedModel};
pub use router::router;
pub use server::{serve, shutdown_signal};
pub use settings::{BatchPolicy, ConnectionPolicy, Limits, ServeSettings};
pub use state::AppState;
