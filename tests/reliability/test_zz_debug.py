import pytest
from nameko.standalone.rpc import ClusterRpcProxy

pytestmark = pytest.mark.reliability

CASES = [
    ({"user": {"volunteer_id": "abc", "roles": 5}}, (1,), {}),
    ({"user": {"volunteer_id": "abc", "roles": 5}}, (), {"activity_id": 1}),
    (None, ("x", [], [5299683693, 1110, 1598677394930815205376]), {}),
    (None, (1598677394930815205376,), {}),
    (None, (), {"activity_id": 1598677394930815205376}),
]


def test_debug(platform):
    for ctx, args, kwargs in CASES:
        with ClusterRpcProxy(platform.rpc_config, context_data=ctx, timeout=8) as rpc:
            try:
                print("OK", rpc.activities.get_activity(*args, **kwargs))
            except Exception as e:
                print(ctx, args, kwargs, "->", type(e).__name__, str(e)[:200])
    print(platform.tail("activities", 40))
