//! go-plugin's auxiliary gRPC services: `plugin.GRPCController/Shutdown`,
//! which Terraform calls to stop the process, and `plugin.GRPCStdio`, which
//! it opens right after connecting (research/protocol.md §2.4).

use std::pin::Pin;

use futures::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};

use super::ShutdownSignal;
use crate::pb::plugin::{grpc_controller_server::GrpcController, grpc_stdio_server::GrpcStdio};
use crate::pb::plugin::{Empty, StdioData};

/// `plugin.GRPCController`: `Shutdown` starts the graceful shutdown. The
/// reply is still sent (graceful shutdown lets in-flight calls finish), and
/// `serve` returns shortly after, so the process exits well within the 2 s
/// Terraform waits before killing it.
#[derive(Debug, Clone)]
pub struct Controller {
    shutdown: ShutdownSignal,
}

impl Controller {
    /// A controller that triggers `shutdown`.
    pub fn new(shutdown: ShutdownSignal) -> Self {
        Self { shutdown }
    }
}

#[tonic::async_trait]
impl GrpcController for Controller {
    async fn shutdown(&self, _request: Request<Empty>) -> Result<Response<Empty>, Status> {
        tracing::debug!("received GRPCController.Shutdown; shutting down");
        self.shutdown.trigger();
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: logs go straight to stderr (Terraform reads it), so
/// the stream never carries data. It stays open until shutdown, then ends,
/// which lets the graceful shutdown complete.
#[derive(Debug, Clone)]
pub struct Stdio {
    shutdown: ShutdownSignal,
}

impl Stdio {
    /// A stdio service whose streams end at `shutdown`.
    pub fn new(shutdown: ShutdownSignal) -> Self {
        Self { shutdown }
    }
}

/// The (always empty) stdio stream.
pub type StdioStream = Pin<Box<dyn Stream<Item = Result<StdioData, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl GrpcStdio for Stdio {
    type StreamStdioStream = StdioStream;

    async fn stream_stdio(
        &self,
        _request: Request<Empty>,
    ) -> Result<Response<StdioStream>, Status> {
        let shutdown = self.shutdown.clone();
        let stream = futures::stream::once(async move { shutdown.wait().await })
            .filter_map(|()| futures::future::ready(None));
        Ok(Response::new(Box::pin(stream)))
    }
}
