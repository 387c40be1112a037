"""`retention generate`: write a synthetic raw data set with realistic retention behaviour.

One file per raw table (columns in the order of `retention.contract.TABLES`),
every value written as text exactly like the raw schema stores it. The data set is built per
chunk of customers with vectorised numpy; every chunk has its own random stream spawned from
the seed, so the same arguments always give the same bytes, whatever the machine.

The behaviour it simulates, and which the warehouse should find back:

- acquisition grows over the window with a seasonal peak around November, through channels
  whose mix shifts over time (a few customers have no channel);
- orders follow a BG/NBD-like process: every buyer has a purchase rate (gamma distributed)
  and, after each purchase, a chance to drop out for good (beta distributed), so one-off
  buyers and loyal repeaters arise naturally; a few customers come back after more than a
  year; order values are lognormal; some orders are cancelled, refunded or partly refunded;
- about 45% of customers hold subscription contracts: fixed terms renewed into chains linked
  by `previous_contract_id` (on time, after a short gap, or after a long one; signed weeks
  ahead or days late), with upgrades, downgrades and yearly price increases; some
  open-ended contracts; a few customers run two plans at once, many stack add-ons (1-4
  products at once, each add-on lowering churn); cancellations with reason codes and final
  offers (an accepted offer withdraws the cancellation; how often depends on the reason's
  churn type; some saved customers ask again and leave); silent churn where a contract
  simply runs out; some churned customers sign again months later;
- a latent satisfaction per customer drives both the NPS score and the chance to churn, and
  scores drop in a customer's last months, so detractors churn more;
- three retention programmes assign customers 50/50 to treatment and control, with costs:
  a renewal call (works on contracts), a win-back voucher for lapsed buyers (works on
  orders) and a newsletter (no effect);
- marketing spend per channel and month follows that channel's acquisitions;
- a few orders and contracts belong to customers missing from `customers` (valid rows: the
  warehouse keeps them as inferred customers).

Nothing happens after `--end`: every event timestamp (created_at, ordered_at, signed_at,
requested_at, responded_at, assigned_at) and every start_date is on or before the end date.
Planned dates may lie beyond it (a contract's end_date, a cancellation's effective_date).
`_loaded_at` is the batch load of the night after the event (02:00-03:00 UTC), so it can be
the day after `--end`.

`--dirty` appends a known mix of defective rows after the clean rows of each file (the clean
rows stay byte-identical) and lists them in `_defects.json`.

The package, one module per responsibility:

- `common`: options, the time window, random helpers; `text`: values rendered as raw text;
- `customers`: customers, acquisition and marketing spend; `orders`: the purchase process;
- `contracts`: contracts, renewals and cancellations; `operations`: NPS and retention
  campaigns; `dirty`: the `--dirty` defects; `output`: the files; `command`: the command,
  which simulates chunk by chunk and draws every random number in a fixed order.
"""

from retention.generate.command import EXIT_CODES, STOPPED, add_arguments, generate, run
from retention.generate.common import Options
from retention.generate.contracts import REASON_CODES
from retention.generate.dirty import DEFECTS_FILE, KEYS

__all__ = [
    "DEFECTS_FILE",
    "EXIT_CODES",
    "KEYS",
    "REASON_CODES",
    "STOPPED",
    "Options",
    "add_arguments",
    "generate",
    "run",
]
