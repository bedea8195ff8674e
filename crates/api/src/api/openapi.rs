//! The OpenAPI document: the routes' annotations assembled, with what utoipa cannot state
//! (bearer auth, renewals-or-records, the contract's per-table record schemas).

#[allow(unused_imports)]
use super::*;

#[derive(OpenApi)]
#[openapi(
    info(title = "lapse scoring API", description = "Lapse risk, value and next best action for renewals, ranked for collection teams."),
    paths(score, queue, explain_queue, winback, get_campaign, record_outcomes, outcome_history, model_current, drift, admin_reload, healthz, readyz, metrics, openapi_json),
    components(schemas(OutcomesRequest, OutcomeIn, OutcomesRecorded, OutcomesHistory, OutcomeOut, WinbackResponse, WinbackItem, ReasonValueSchema, ScoreRequest, RenewalKey, OnUnknown, InlineRecords, ScoreResponse, ScoredRenewal, Reason, Segment, NotScored, QueueResponse, CampaignInfo, CampaignResponse, CampaignItem, Window, ModelInfo, SnapshotInfo, ReloadResponse, Health, ErrorBody, schema::Economics, schema::Action, DriftResponse, schema::DriftReport, schema::FeatureDrift, schema::BinShares, schema::Thresholds)),
    modifiers(&BearerAuth, &OneOfRenewalsOrRecords, &ContractRecords)
)]
pub(super) struct ApiDoc;

pub(super) struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("bearer", SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()));
    }
}

/// `POST /v1/score` needs renewals by key or records: `anyOf` the two, stated in the document
/// (utoipa has no attribute for it).
pub(super) struct OneOfRenewalsOrRecords;

impl utoipa::Modify for OneOfRenewalsOrRecords {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Schema};
        let Some(components) = openapi.components.as_mut() else { return };
        let Some(request) = components.schemas.remove("ScoreRequest") else { return };
        let by_key = ObjectBuilder::new()
            .property("renewals", ArrayBuilder::new().items(Ref::from_schema_name("RenewalKey")).min_items(Some(1)))
            .required("renewals")
            .build();
        let by_records = ObjectBuilder::new().property("records", Ref::from_schema_name("InlineRecords")).required("records").build();
        let any_of = AnyOfBuilder::new().item(by_key).item(by_records).build();
        let both = AllOfBuilder::new().item(request).item(Schema::AnyOf(any_of)).build();
        components.schemas.insert("ScoreRequest".into(), RefOr::T(Schema::AllOf(both)));
    }
}

/// Each inline table's rows as the data contract defines them (`lapse_core::extract::schema`):
/// every column with its type and bounds, the required ones required. Generated from the
/// contract's own table specs, so the document cannot drift from the checks the server runs;
/// what a schema cannot say (keys that must match across tables, dates that must exist) is
/// still answered 422 naming the record and field.
pub(super) struct ContractRecords;

impl utoipa::Modify for ContractRecords {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use lapse_core::extract::schema::{ColumnKind, TABLES};
        use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Ref, Schema, SchemaFormat, SchemaType, Type};
        use utoipa::openapi::{KnownFormat, RefOr};
        let Some(components) = openapi.components.as_mut() else { return };
        for spec in TABLES {
            let mut row = ObjectBuilder::new()
                .description(Some(format!("A row of the contract's `{}` table.", spec.name)))
                .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
            for column in spec.columns {
                let nullable = |t: Type| if column.required { SchemaType::new(t) } else { SchemaType::from_iter([t, Type::Null]) };
                let text_types = |required: bool| {
                    if required {
                        SchemaType::from_iter([Type::String, Type::Number])
                    } else {
                        SchemaType::from_iter([Type::String, Type::Number, Type::Null])
                    }
                };
                let property = match column.kind {
                    // The contract's one closed set: the four frequencies, as an enum (the server
                    // also reads `Annual`, `semi-annual`, `yearly`... as the extract reader does).
                    ColumnKind::Text if column.name == "premium_frequency" => ObjectBuilder::new()
                        .schema_type(SchemaType::new(Type::String))
                        .enum_values(Some(lapse_core::extract::schema::Frequency::ALL.map(|f| f.as_str())))
                        .description(Some("annual, semiannual, quarterly or monthly (case, '-' and '_' are ignored)")),
                    ColumnKind::Text => ObjectBuilder::new()
                        .schema_type(text_types(column.required))
                        .min_length(column.required.then_some(1))
                        .pattern(column.required.then_some(r"\S")),
                    // An optional date may be empty (missing), as in a CSV extract.
                    ColumnKind::Date => ObjectBuilder::new()
                        .schema_type(nullable(Type::String))
                        .format((column.required).then_some(SchemaFormat::KnownFormat(KnownFormat::Date)))
                        .pattern(Some(if column.required { DATE_PATTERN } else { OPTIONAL_DATE_PATTERN })),
                    ColumnKind::Money => ObjectBuilder::new().schema_type(nullable(Type::Number)).minimum(Some(0.0)),
                    ColumnKind::Decimal => ObjectBuilder::new().schema_type(nullable(Type::Number)),
                    ColumnKind::Count => ObjectBuilder::new().schema_type(nullable(Type::Integer)).minimum(Some(0.0)).maximum(Some(2147483647.0)),
                    ColumnKind::PositiveInt => {
                        ObjectBuilder::new().schema_type(nullable(Type::Integer)).minimum(Some(1.0)).maximum(Some(2147483647.0))
                    }
                };
                row = row.property(column.name, property);
                if column.required {
                    row = row.required(column.name);
                }
            }
            let name = record_schema_name(spec.name);
            components.schemas.insert(name.clone(), RefOr::T(Schema::Object(row.build())));
        }
        let Some(RefOr::T(Schema::Object(records))) = components.schemas.get_mut("InlineRecords") else { return };
        for spec in TABLES {
            let rows = ArrayBuilder::new().items(Ref::from_schema_name(record_schema_name(spec.name)));
            let rows = if spec.required { rows } else { rows.schema_type(SchemaType::from_iter([Type::Array, Type::Null])) };
            records.properties.insert(spec.name.to_string(), RefOr::T(Schema::Array(rows.build())));
        }
    }
}

/// A date the contract reads: `YYYY-MM-DD`, month 01-12, day 01-31.
pub(super) const DATE_PATTERN: &str = r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$";
pub(super) const OPTIONAL_DATE_PATTERN: &str = r"^([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01]))?$";

/// `policies` -> `PolicyRecord`.
pub(super) fn record_schema_name(table: &str) -> String {
    let singular = table.strip_suffix("ies").map(|s| format!("{s}y")).unwrap_or_else(|| table.trim_end_matches('s').to_string());
    let mut name: String = singular.split('_').map(|w| w[..1].to_uppercase() + &w[1..]).collect();
    name.push_str("Record");
    name
}

/// The OpenAPI document, pretty-printed, for the default economics (committed as
/// `docs/openapi.json`).
pub fn openapi_document() -> String {
    openapi_document_for(&Economics::default())
}

/// The OpenAPI document of a server with `economics`: the capacity parameter names its
/// actions.
pub fn openapi_document_for(economics: &Economics) -> String {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    // Action names are letters, digits, '-' and '_' (`Economics::validate`): no regex
    // metacharacter to escape.
    let actions: Vec<&str> = economics.actions.iter().map(|a| a.name.as_str()).collect();
    doc.to_pretty_json().expect("the document serializes").replace("(ACTIONS)", &format!("({})", actions.join("|"))) + "\n"
}
