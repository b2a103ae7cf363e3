//! The `tfplugin6.Provider` gRPC service. Every RPC does the same three
//! things: decode the request into framework values, call the framework or
//! the resource, encode the response. User-facing problems travel as
//! diagnostics, never as gRPC errors (Terraform shows those only as "Plugin
//! error"), and a panic in any handler becomes an error diagnostic instead of
//! a dead plugin.
//!
//! Invariant: this module and `convert.rs` are the only ones (with `plugin/`)
//! that name protobuf types.

mod convert;

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, OnceLock, RwLock};

use futures::FutureExt;
use tonic::{Request, Response, Status};
use tracing::{debug, error, info_span, Instrument};

use crate::aws::{provider_schema, ProviderCtx, ProviderSettings};
use crate::framework::function::Function;
use crate::framework::plan::{plan_resource_change, validate_config};
use crate::framework::{Diagnostics, Resource, ResourceRegistry, Schema, StopSignal};
use crate::pb::tfplugin6 as pb;
use crate::pb::tfplugin6::provider_server::Provider;
use crate::value::{json, Value};
use convert::{decode_value, diagnostics, encode_value};

type RpcResult<T> = Result<Response<T>, Status>;

/// The provider service: resources, the provider schema and, once
/// ConfigureProvider ran, the configured [`ProviderCtx`].
#[derive(Clone)]
pub struct ProviderService {
    inner: Arc<Inner>,
}

struct Inner {
    registry: ResourceRegistry<ProviderCtx>,
    functions: Vec<Arc<dyn Function>>,
    provider_schema: Schema,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
    ctx: RwLock<Option<Arc<ProviderCtx>>>,
    stop: StopSignal,
}

impl Default for ProviderService {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderService {
    /// Builds the service with every resource registered (at start-up, never lazily).
    pub fn new() -> Self {
        Self::with_registry(crate::resources::registry())
    }

    /// Builds the service over a given registry (tests).
    pub fn with_registry(registry: ResourceRegistry<ProviderCtx>) -> Self {
        ProviderService {
            inner: Arc::new(Inner {
                registry,
                functions: crate::functions::all(),
                provider_schema: provider_schema(),
                schema_response: OnceLock::new(),
                ctx: RwLock::new(None),
                stop: StopSignal::default(),
            }),
        }
    }

    fn resource(
        &self,
        type_name: &str,
        diags: &mut Diagnostics,
    ) -> Option<Arc<dyn Resource<Ctx = ProviderCtx>>> {
        let r = self.inner.registry.get(type_name).cloned();
        if r.is_none() {
            diags.error(
                "Unknown resource type",
                format!("The bankplatform provider has no resource type \"{type_name}\". Check the spelling and the provider version."),
            );
        }
        r
    }

    fn ctx(&self, diags: &mut Diagnostics) -> Option<Arc<ProviderCtx>> {
        let ctx = self.inner.ctx.read().ok().and_then(|c| c.clone());
        if ctx.is_none() {
            diags.error(
                "Provider not configured",
                "The bankplatform provider was asked to act before ConfigureProvider succeeded. Check the provider block for errors reported above.",
            );
        }
        ctx
    }

    fn function_schemas(&self) -> std::collections::HashMap<String, pb::Function> {
        self.inner
            .functions
            .iter()
            .map(|f| (f.name().to_string(), convert::function(f.as_ref())))
            .collect()
    }

    fn schema_response(&self) -> pb::get_provider_schema::Response {
        self.inner
            .schema_response
            .get_or_init(|| pb::get_provider_schema::Response {
                provider: Some(convert::schema(&self.inner.provider_schema)),
                resource_schemas: self
                    .inner
                    .registry
                    .iter()
                    .map(|r| (r.type_name().to_string(), convert::schema(r.schema())))
                    .collect(),
                server_capabilities: Some(capabilities()),
                functions: self.function_schemas(),
                ..Default::default()
            })
            .clone()
    }
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        // Safe: the registry is built at start-up, so any instance can serve
        // any RPC without having been asked for its schema first.
        get_provider_schema_optional: true,
        move_resource_state: false,
        generate_resource_config: false,
    }
}

/// Runs a handler, turning a panic into an error diagnostic.
async fn guarded<T, F>(
    rpc: &'static str,
    fut: F,
    on_panic: impl FnOnce(Vec<pb::Diagnostic>) -> T,
) -> RpcResult<T>
where
    F: std::future::Future<Output = T>,
{
    let span = info_span!("rpc", tf_rpc = rpc);
    match AssertUnwindSafe(fut).catch_unwind().instrument(span).await {
        Ok(v) => Ok(Response::new(v)),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            error!(tf_rpc = rpc, panic = %msg, "provider panicked");
            let mut d = Diagnostics::new();
            d.provider_bug(
                "The provider panicked",
                format!("{rpc} panicked: {msg}. Nothing was lost from state: Terraform keeps the prior state for this resource."),
            );
            Ok(Response::new(on_panic(diagnostics(d))))
        }
    }
}

fn codec_error(d: &mut Diagnostics, what: &str, e: impl std::fmt::Display) {
    d.provider_bug("Invalid value", format!("Could not decode {what}: {e}"));
}

#[tonic::async_trait]
impl Provider for ProviderService {
    async fn get_metadata(
        &self,
        _: Request<pb::get_metadata::Request>,
    ) -> RpcResult<pb::get_metadata::Response> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .inner
                .registry
                .iter()
                .map(|r| pb::get_metadata::ResourceMetadata {
                    type_name: r.type_name().into(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> RpcResult<pb::get_provider_schema::Response> {
        Ok(Response::new(self.schema_response()))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> RpcResult<pb::validate_provider_config::Response> {
        let req = req.into_inner();
        let mut d = Diagnostics::new();
        match decode_value(
            req.config.as_ref(),
            &self.inner.provider_schema.block.implied_type(),
        ) {
            // Unknown values are normal here (validate runs before anything is
            // applied); ConfigureProvider reports them if they are still unknown.
            Ok(v) if v.is_fully_known() => {
                ProviderSettings::from_value(&v, &mut d);
            }
            Ok(_) => {}
            Err(e) => codec_error(&mut d, "the provider configuration", e),
        }
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diagnostics(d),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> RpcResult<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        guarded(
            "ValidateResourceConfig",
            async {
                let mut d = Diagnostics::new();
                if let Some(r) = self.resource(&req.type_name, &mut d) {
                    match decode_value(req.config.as_ref(), &r.schema().block.implied_type()) {
                        Ok(config) => d.extend(validate_config(r.as_ref(), &config)),
                        Err(e) => codec_error(&mut d, "the configuration", e),
                    }
                }
                pb::validate_resource_config::Response {
                    diagnostics: diagnostics(d),
                }
            },
            |diagnostics| pb::validate_resource_config::Response { diagnostics },
        )
        .await
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> RpcResult<pb::validate_data_resource_config::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Unknown data source",
            format!(
                "The bankplatform provider has no data source \"{}\".",
                req.into_inner().type_name
            ),
        );
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diagnostics(d),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> RpcResult<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        guarded("UpgradeResourceState", async {
            let mut d = Diagnostics::new();
            let mut upgraded = None;
            if let Some(r) = self.resource(&req.type_name, &mut d) {
                let ty = r.schema().block.implied_type();
                let raw = req.raw_state.unwrap_or_default();
                if raw.json.is_empty() && !raw.flatmap.is_empty() {
                    d.error("Unsupported state format", "This state was written by Terraform 0.11 or older (flatmap). Upgrade it with Terraform 0.12+ first.");
                } else {
                    // Lenient: attributes dropped from the schema since are ignored.
                    match json::decode_lenient(&raw.json, &ty) {
                        Ok(state) => {
                            if let Some(v) = r.upgrade_state(req.version, state, &mut d) {
                                match encode_value(&v, &ty) {
                                    Ok(dv) => upgraded = Some(dv),
                                    Err(e) => codec_error(&mut d, "the upgraded state", e),
                                }
                            }
                        }
                        Err(e) => codec_error(&mut d, "the stored state", e),
                    }
                }
            }
            pb::upgrade_resource_state::Response { upgraded_state: upgraded, diagnostics: diagnostics(d) }
        }, |diagnostics| pb::upgrade_resource_state::Response { upgraded_state: None, diagnostics })
        .await
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> RpcResult<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(
            pb::get_resource_identity_schemas::Response::default(),
        ))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> RpcResult<pb::upgrade_resource_identity::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Resource identity not supported",
            format!(
                "{} has no resource identity schema.",
                req.into_inner().type_name
            ),
        );
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity: None,
            diagnostics: diagnostics(d),
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> RpcResult<pb::configure_provider::Response> {
        let req = req.into_inner();
        guarded(
            "ConfigureProvider",
            async {
                let mut d = Diagnostics::new();
                debug!(terraform_version = %req.terraform_version, "configuring provider");
                match decode_value(
                    req.config.as_ref(),
                    &self.inner.provider_schema.block.implied_type(),
                ) {
                    Ok(config) => {
                        let settings = ProviderSettings::from_value(&config, &mut d);
                        if !d.has_errors() {
                            match ProviderCtx::new(settings, self.inner.stop.clone()).await {
                                Ok(ctx) => {
                                    if let Ok(mut slot) = self.inner.ctx.write() {
                                        *slot = Some(Arc::new(ctx));
                                    }
                                }
                                Err(e) => d.error("Cannot configure AWS access", e),
                            }
                        }
                    }
                    Err(e) => codec_error(&mut d, "the provider configuration", e),
                }
                pb::configure_provider::Response {
                    diagnostics: diagnostics(d),
                }
            },
            |diagnostics| pb::configure_provider::Response { diagnostics },
        )
        .await
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> RpcResult<pb::read_resource::Response> {
        let req = req.into_inner();
        let private = req.private.clone();
        guarded(
            "ReadResource",
            async {
                let mut d = Diagnostics::new();
                let mut new_state = None;
                if let (Some(r), Some(ctx)) =
                    (self.resource(&req.type_name, &mut d), self.ctx(&mut d))
                {
                    let ty = r.schema().block.implied_type();
                    match decode_value(req.current_state.as_ref(), &ty) {
                        Ok(state) => {
                            let (read, rd) = r.read(&ctx, &state).await;
                            d.extend(rd);
                            // On error keep the current state rather than dropping the object.
                            let out = if d.has_errors() { Some(state) } else { read };
                            match encode_value(&out.unwrap_or(Value::Null), &ty) {
                                Ok(dv) => new_state = Some(dv),
                                Err(e) => codec_error(&mut d, "the refreshed state", e),
                            }
                        }
                        Err(e) => codec_error(&mut d, "the current state", e),
                    }
                }
                pb::read_resource::Response {
                    new_state,
                    diagnostics: diagnostics(d),
                    private: req.private,
                    ..Default::default()
                }
            },
            |diagnostics| pb::read_resource::Response {
                diagnostics,
                private,
                ..Default::default()
            },
        )
        .await
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> RpcResult<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        guarded(
            "PlanResourceChange",
            async {
                let mut d = Diagnostics::new();
                let mut resp = pb::plan_resource_change::Response::default();
                if let Some(r) = self.resource(&req.type_name, &mut d) {
                    let ty = r.schema().block.implied_type();
                    let decoded = (|| {
                        Ok::<_, crate::value::CodecError>((
                            decode_value(req.prior_state.as_ref(), &ty)?,
                            decode_value(req.proposed_new_state.as_ref(), &ty)?,
                            decode_value(req.config.as_ref(), &ty)?,
                        ))
                    })();
                    match decoded {
                        Ok((prior, proposed, config)) => {
                            let ctx = self.inner.ctx.read().ok().and_then(|c| c.clone());
                            let out = plan_resource_change(
                                r.as_ref(),
                                ctx.as_deref(),
                                &prior,
                                &proposed,
                                &config,
                            )
                            .await;
                            d.extend(out.diags);
                            match encode_value(&out.planned, &ty) {
                                Ok(dv) => resp.planned_state = Some(dv),
                                Err(e) => codec_error(&mut d, "the planned state", e),
                            }
                            resp.requires_replace = out
                                .requires_replace
                                .iter()
                                .map(convert::attribute_path)
                                .collect();
                            resp.planned_private = req.prior_private;
                        }
                        Err(e) => codec_error(&mut d, "the plan request", e),
                    }
                }
                resp.diagnostics = diagnostics(d);
                resp
            },
            |diagnostics| pb::plan_resource_change::Response {
                diagnostics,
                ..Default::default()
            },
        )
        .await
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> RpcResult<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        let prior_dv = req.prior_state.clone();
        guarded(
            "ApplyResourceChange",
            async {
                let mut d = Diagnostics::new();
                let mut resp = pb::apply_resource_change::Response {
                    private: req.planned_private.clone(),
                    ..Default::default()
                };
                let (Some(r), Some(ctx)) =
                    (self.resource(&req.type_name, &mut d), self.ctx(&mut d))
                else {
                    resp.new_state = req.prior_state;
                    resp.diagnostics = diagnostics(d);
                    return resp;
                };
                let ty = r.schema().block.implied_type();
                let decoded = (|| {
                    Ok::<_, crate::value::CodecError>((
                        decode_value(req.prior_state.as_ref(), &ty)?,
                        decode_value(req.planned_state.as_ref(), &ty)?,
                    ))
                })();
                let (prior, planned) = match decoded {
                    Ok(v) => v,
                    Err(e) => {
                        codec_error(&mut d, "the apply request", e);
                        resp.new_state = req.prior_state;
                        resp.diagnostics = diagnostics(d);
                        return resp;
                    }
                };
                let new_state: Value = if planned.is_null() {
                    d.extend(r.delete(&ctx, &prior).await);
                    // A failed delete keeps the object in state.
                    if d.has_errors() {
                        prior
                    } else {
                        Value::Null
                    }
                } else if prior.is_null() {
                    let res = r.create(&ctx, &planned).await;
                    d.extend(res.diags);
                    res.state.unwrap_or(Value::Null)
                } else {
                    let res = r.update(&ctx, &prior, &planned).await;
                    d.extend(res.diags);
                    res.state.unwrap_or(prior)
                };
                let new_state = if new_state.is_fully_known() {
                    new_state
                } else {
                    d.provider_bug(
                        "Unknown value after apply",
                        format!("{} returned a state with unknown values.", req.type_name),
                    );
                    Value::Null
                };
                match encode_value(&new_state, &ty) {
                    Ok(dv) => resp.new_state = Some(dv),
                    Err(e) => {
                        codec_error(&mut d, "the new state", e);
                        resp.new_state = req.prior_state;
                    }
                }
                resp.diagnostics = diagnostics(d);
                resp
            },
            |diagnostics| pb::apply_resource_change::Response {
                new_state: prior_dv,
                diagnostics,
                ..Default::default()
            },
        )
        .await
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> RpcResult<pb::import_resource_state::Response> {
        let req = req.into_inner();
        guarded(
            "ImportResourceState",
            async {
                let mut d = Diagnostics::new();
                let mut imported = Vec::new();
                if let (Some(r), Some(ctx)) =
                    (self.resource(&req.type_name, &mut d), self.ctx(&mut d))
                {
                    let res = r.import(&ctx, &req.id).await;
                    d.extend(res.diags);
                    if let Some(state) = res.state {
                        match encode_value(&state, &r.schema().block.implied_type()) {
                            Ok(dv) => imported.push(pb::import_resource_state::ImportedResource {
                                type_name: req.type_name.clone(),
                                state: Some(dv),
                                ..Default::default()
                            }),
                            Err(e) => codec_error(&mut d, "the imported state", e),
                        }
                    }
                }
                pb::import_resource_state::Response {
                    imported_resources: imported,
                    diagnostics: diagnostics(d),
                    deferred: None,
                }
            },
            |diagnostics| pb::import_resource_state::Response {
                diagnostics,
                ..Default::default()
            },
        )
        .await
    }

    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> RpcResult<pb::move_resource_state::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Move not supported",
            format!(
                "Resources cannot be moved into {}.",
                req.into_inner().target_type_name
            ),
        );
        Ok(Response::new(pb::move_resource_state::Response {
            diagnostics: diagnostics(d),
            ..Default::default()
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> RpcResult<pb::read_data_source::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Unknown data source",
            format!(
                "The bankplatform provider has no data source \"{}\".",
                req.into_inner().type_name
            ),
        );
        Ok(Response::new(pb::read_data_source::Response {
            diagnostics: diagnostics(d),
            ..Default::default()
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> RpcResult<pb::validate_ephemeral_resource_config::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Unknown ephemeral resource",
            format!(
                "The bankplatform provider has no ephemeral resource \"{}\".",
                req.into_inner().type_name
            ),
        );
        Ok(Response::new(
            pb::validate_ephemeral_resource_config::Response {
                diagnostics: diagnostics(d),
            },
        ))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> RpcResult<pb::open_ephemeral_resource::Response> {
        let mut d = Diagnostics::new();
        d.error(
            "Unknown ephemeral resource",
            format!(
                "The bankplatform provider has no ephemeral resource \"{}\".",
                req.into_inner().type_name
            ),
        );
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: diagnostics(d),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<pb::renew_ephemeral_resource::Request>,
    ) -> RpcResult<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(
            pb::renew_ephemeral_resource::Response::default(),
        ))
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> RpcResult<pb::close_ephemeral_resource::Response> {
        Ok(Response::new(
            pb::close_ephemeral_resource::Response::default(),
        ))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> RpcResult<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: self.function_schemas(),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> RpcResult<pb::call_function::Response> {
        let req = req.into_inner();
        let error = |text: String, arg: Option<i64>| pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text,
                function_argument: arg,
            }),
        };
        guarded(
            "CallFunction",
            async {
                let Some(f) = self.inner.functions.iter().find(|f| f.name() == req.name) else {
                    return error(
                        format!("the bankplatform provider has no function \"{}\"", req.name),
                        None,
                    );
                };
                let params = f.parameters();
                if req.arguments.len() != params.len() {
                    return error(
                        format!(
                            "{} takes {} arguments, got {}",
                            f.name(),
                            params.len(),
                            req.arguments.len()
                        ),
                        None,
                    );
                }
                let mut args = Vec::with_capacity(params.len());
                for (i, (dv, p)) in req.arguments.iter().zip(&params).enumerate() {
                    match decode_value(Some(dv), &p.ty) {
                        Ok(v) => args.push(v),
                        Err(e) => {
                            return error(format!("argument {}: {e}", p.name), Some(i as i64))
                        }
                    }
                }
                match f.call(&args) {
                    Ok(v) => match encode_value(&v, &f.return_type()) {
                        Ok(dv) => pb::call_function::Response {
                            result: Some(dv),
                            error: None,
                        },
                        Err(e) => error(
                            format!(
                                "{}: could not encode the result: {e}; {}",
                                f.name(),
                                crate::framework::diag::PROVIDER_BUG
                            ),
                            None,
                        ),
                    },
                    Err(e) => error(e.text, e.argument),
                }
            },
            |d| {
                error(
                    d.into_iter()
                        .map(|d| format!("{}: {}", d.summary, d.detail))
                        .collect::<Vec<_>>()
                        .join("\n"),
                    None,
                )
            },
        )
        .await
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> RpcResult<pb::stop_provider::Response> {
        self.inner.stop.stop();
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, Block};
    use crate::framework::ApplyResult;
    use crate::value::msgpack;

    /// A resource whose validation panics, to prove panics become diagnostics.
    struct Panicky(Schema);

    #[async_trait::async_trait]
    impl Resource for Panicky {
        type Ctx = ProviderCtx;
        fn type_name(&self) -> &'static str {
            "bankplatform_panicky"
        }
        fn schema(&self) -> &Schema {
            &self.0
        }
        fn validate_config(&self, _: &Value, _: &mut Diagnostics) {
            panic!("boom");
        }
        async fn create(&self, _: &ProviderCtx, _: &Value) -> ApplyResult {
            unreachable!()
        }
        async fn read(&self, _: &ProviderCtx, _: &Value) -> (Option<Value>, Diagnostics) {
            unreachable!()
        }
        async fn update(&self, _: &ProviderCtx, _: &Value, _: &Value) -> ApplyResult {
            unreachable!()
        }
        async fn delete(&self, _: &ProviderCtx, _: &Value) -> Diagnostics {
            unreachable!()
        }
    }

    fn service() -> (ProviderService, crate::value::Type) {
        let schema = Schema {
            version: 0,
            block: Block {
                description: String::new(),
                attributes: vec![Attribute::string("name").optional()],
                blocks: vec![],
            },
        };
        let ty = schema.block.implied_type();
        let registry = ResourceRegistry::new(vec![Arc::new(Panicky(schema))]);
        (ProviderService::with_registry(registry), ty)
    }

    #[tokio::test]
    async fn a_panic_becomes_an_error_diagnostic() {
        let (svc, ty) = service();
        let config = Value::object([("name", Value::string("x"))]);
        let resp = svc
            .validate_resource_config(Request::new(pb::validate_resource_config::Request {
                type_name: "bankplatform_panicky".into(),
                config: Some(pb::DynamicValue {
                    msgpack: msgpack::encode(&config, &ty).unwrap(),
                    json: vec![],
                }),
                client_capabilities: None,
            }))
            .await
            .expect("a response, not a dead plugin")
            .into_inner();
        let d = &resp.diagnostics[0];
        assert_eq!(d.severity, pb::diagnostic::Severity::Error as i32);
        assert_eq!(d.summary, "The provider panicked");
        assert!(d.detail.contains("boom"), "{}", d.detail);
    }

    #[tokio::test]
    async fn unknown_types_and_unconfigured_provider_are_diagnostics() {
        let (svc, _) = service();
        let read = |type_name: &str| pb::read_resource::Request {
            type_name: type_name.into(),
            ..Default::default()
        };
        let resp = svc
            .read_resource(Request::new(read("bankplatform_nope")))
            .await
            .unwrap()
            .into_inner();
        assert!(resp
            .diagnostics
            .iter()
            .any(|d| d.summary == "Unknown resource type"));
        let resp = svc
            .read_resource(Request::new(read("bankplatform_panicky")))
            .await
            .unwrap()
            .into_inner();
        assert!(resp
            .diagnostics
            .iter()
            .any(|d| d.summary == "Provider not configured"));
    }

    #[tokio::test]
    async fn schema_lists_resources_and_capabilities() {
        let svc = ProviderService::new();
        let resp = svc
            .get_provider_schema(Request::new(pb::get_provider_schema::Request {}))
            .await
            .unwrap()
            .into_inner();
        assert!(resp.provider.and_then(|p| p.block).is_some());
        assert!(resp
            .resource_schemas
            .contains_key("bankplatform_compliant_bucket"));
        assert!(
            resp.server_capabilities
                .unwrap()
                .get_provider_schema_optional
        );
    }
}
