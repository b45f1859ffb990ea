"""The URL paths the dialer and the VC simulator use to talk, kept in one place.

The dialer POSTs to the VC under `/fs-message/...` (and `/ccm/message/receive`, the CCM address the spec
gives for END_CHAT); the VC answers agent reservations on the dialer's `/dialer-connector/agent`.
"""

START_PROCESS = "/fs-message/startprocess"
CALL_RESULT = "/fs-message/call-result"
END_CHAT = "/fs-message/end-chat"
RECORDING = "/fs-message/recording"
# Our addition to the VC contract (GET): the queue's agents, for predictive pacing. The simulator's
# default; `ConnectorSimulator(agents_path=...)` / `--agents-path` serve it elsewhere.
AGENTS = "/fs-message/agents"
CCM_RECEIVE = "/ccm/message/receive"

DIALER_AGENT = "/dialer-connector/agent"

# A message on one of these paths means the call is over, so its agent goes into wrap-up.
# A recording link does not: it may arrive before the result and says nothing about the agent.
RELEASING = frozenset({CALL_RESULT, END_CHAT, CCM_RECEIVE})
