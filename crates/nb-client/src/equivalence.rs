//! Equivalence constraints: which models may serve a request in place of
//! the one it asks for ([`Fallback`]).

use std::sync::Arc;

use crate::error::Error;
use crate::policy::Fallback;
use crate::shared::Inner;
use crate::target::Chain;

/// A call's chain under its constraint.
pub(crate) struct Constrained {
    pub(crate) chain: Arc<Chain>,
    /// The models that may serve it; `None` for any.
    pub(crate) allowed: Option<Arc<[Arc<str>]>>,
    /// The model the request asked for (its chain's first).
    pub(crate) requested: Arc<str>,
}

/// The chain of `model` held to `fallback`: the request's own chain, or for
/// [`Fallback::SameModel`] the requested model on every endpoint that
/// lists it.
pub(crate) fn constrain(
    inner: &Inner,
    model: &str,
    fallback: &Fallback,
) -> Result<Constrained, Error> {
    let chain = inner.registry.chain(model).map_err(Error::config)?;
    let requested = chain
        .targets
        .first()
        .map_or_else(|| Arc::from(model), |t| Arc::clone(&t.model));
    let with = |others: &mut dyn Iterator<Item = Arc<str>>| -> Arc<[Arc<str>]> {
        let mut allowed = vec![Arc::clone(&requested)];
        for m in others {
            if !allowed.contains(&m) {
                allowed.push(m);
            }
        }
        allowed.into()
    };
    let (chain, allowed) = match fallback {
        Fallback::Any => (chain, None),
        Fallback::SameModel => {
            let same = inner
                .registry
                .same_model_chain(&requested)
                .map_err(Error::config)?;
            (same, Some(with(&mut std::iter::empty())))
        }
        Fallback::SameTier => {
            let tiers = &inner.settings.tiers;
            let mut peers = tiers
                .iter()
                .filter(|(_, models)| models.contains(&requested))
                .flat_map(|(_, models)| models.iter().cloned());
            (chain, Some(with(&mut peers)))
        }
        Fallback::Models(models) => {
            let mut listed = models.iter().map(|m| Arc::from(m.as_str()));
            (chain, Some(with(&mut listed)))
        }
    };
    Ok(Constrained {
        chain,
        allowed,
        requested,
    })
}

#[cfg(test)]
mod tests;
