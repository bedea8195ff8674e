//! `lapse models`: list, show and promote registered versions.

use crate::exit::Failure;
use crate::flags::{ModelsAction, ModelsArgs};

use lapse_model::registry::Registry;

pub fn run_models(args: ModelsArgs) -> Result<(), Failure> {
    let registry = Registry::new(&args.models);
    match args.action {
        ModelsAction::List => {
            let champion = registry.champion()?;
            let versions = registry.versions()?;
            if versions.is_empty() {
                println!("no models in {}", args.models.display());
            }
            for version in versions {
                let mark = if champion.as_deref() == Some(version.as_str()) { "*" } else { " " };
                match registry.report(&version) {
                    Ok(r) => println!(
                        "{mark} {version}  {:<8} roc_auc {:.4}  log_loss {:.4}  ece {:.4}  rows {}",
                        r.chosen.as_str(),
                        r.roc_auc.unwrap_or(f64::NAN),
                        r.log_loss,
                        r.ece,
                        r.rows_labelled
                    ),
                    Err(e) => println!("{mark} {version}  unreadable: {e}"),
                }
            }
        }
        ModelsAction::Show { version } => {
            let loaded = registry.load(&version);
            print!("{}", registry.card(&version)?);
            match loaded {
                Ok(m) => {
                    println!("\nverified: sha256 {} matches, schema of {} features matches", m.manifest.artifact_sha256, m.model.schema.columns.len())
                }
                Err(e) => println!("\nNOT LOADABLE: {e}"),
            }
        }
        ModelsAction::Promote { version } => {
            registry.promote(&version)?;
            println!("{version} is now the champion in {}", args.models.display());
        }
    }
    Ok(())
}
