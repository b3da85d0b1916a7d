//! Model settings: MODEL.md defaults, then a TOML file, then `--set key=value` flags.

use std::path::Path;

use anyhow::{bail, Context, Result};
use dataflows::model::Settings;

pub fn load(file: Option<&Path>, overrides: &[String]) -> Result<Settings> {
    let mut table = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the settings file", path.display()))?;
            text.parse::<toml::Table>()
                .with_context(|| format!("{}: not valid TOML", path.display()))?
        }
        None => toml::Table::new(),
    };
    for item in overrides {
        let Some((key, value)) = item.split_once('=') else {
            bail!("--set {item}: expected KEY=VALUE");
        };
        let value: toml::Value = format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        table.insert(key.trim().to_string(), value);
    }
    let settings: Settings = table
        .try_into()
        .map_err(|e: toml::de::Error| anyhow::anyhow!("settings: {}", e.message()))?;
    settings
        .validate()
        .map_err(|e| anyhow::anyhow!("settings: {e}"))?;
    Ok(settings)
}
