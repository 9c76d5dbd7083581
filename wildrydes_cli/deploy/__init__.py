"""Making and unmaking: the workshop's modules 1-2 and Steps 1-4, and cleanup.

  deployer.py      ``wildrydes deploy``: preflight, package, stack, environment, wiring, record
  choices.py       what deploy keeps from the last deploy: engine, role, memory, a pinned model, auth
  history.py       the deploy history in the data bucket (``wildrydes history``) and ``wildrydes rollback``
  canary.py        ``deploy --canary N``, ``promote`` and a canary's rollback: Lambda versions and a weighted alias
  access.py        --auth none|api-key and the usage plan's limits; a switch on a live API asks first
  keys.py          ``wildrydes keys rotate``: a new API key through the stack, the old one deleted
  bootstrap.py     the prerequisites stack (bucket, role) and the scratchpad's Step 1
  packaging.py     the deployment zip for an engine (lean: lambda/; mxnet: with its libraries)
  elfdeps.py       which shared libraries the mxnet package needs that Lambda's image lacks
  mxnet_support.py lives at the root: train and deploy both ask it
  stacks.py        the templates and the parameters deploy gives them
  wiring.py        Step 4 checked and repaired: ANY / -> AWS_PROXY -> function, permission, stage
  apistage.py      does stage prod serve the API as the stack now has it (stage snapshots)
  locks.py         one deploy at a time per target, account and region
  cleanup.py       remove exactly what deploy made
  manual.py        ``wildrydes package``: the zip and the template, for the workshop's steps by hand

Imports aws/ and the ground; not observe/ or training/.
"""
