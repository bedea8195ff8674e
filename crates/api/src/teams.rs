//! Each servicing agent's team, from the extract's agents table (`lapse serve --agents`): the
//! console's Today page counts the day's contacts by team. Re-read on every reload (the nightly
//! extract replaces it); a table that cannot be read keeps the previous one.

use std::collections::HashMap;
use std::path::Path;

use lapse_core::extract::ExtractError;

/// Agent id -> team.
#[derive(Debug, Default)]
pub struct AgentTeams {
    by_agent: HashMap<String, String>,
}

impl AgentTeams {
    /// Reads the agents table at `path` (a file, or the extract directory holding it). Rows that
    /// break the contract are left out and logged with their row and field.
    pub fn load(path: &Path) -> Result<AgentTeams, ExtractError> {
        let (agents, issues) = lapse_core::extract::load_agents(path)?;
        for issue in issues.issues().iter().take(20) {
            tracing::warn!(issue = %issue, "agents table row left out of the teams");
        }
        if issues.len() > 20 {
            tracing::warn!(more = issues.len() - 20, "more agents table issues");
        }
        let by_agent: HashMap<String, String> =
            agents.id.iter().enumerate().filter_map(|(i, id)| agents.team.get(i).map(|team| (id.clone(), team.to_string()))).collect();
        tracing::info!(agents = agents.id.len(), with_team = by_agent.len(), path = %path.display(), "agents' teams read");
        Ok(AgentTeams { by_agent })
    }

    /// The agent's team, when the table names one.
    pub fn team_of(&self, agent: &str) -> Option<&str> {
        self.by_agent.get(agent).map(String::as_str)
    }
}
