"""Every deployable keeps at least 4 KB of headroom under EIP-170, measured as deployed (runtime code plus the
immutables appended to it) with `eth_getCode` on the node, whatever the local node itself enforces.
"""

from ala.deploy import code_sizes

EIP_170 = 24_576
HEADROOM = 4_096
LIMIT = EIP_170 - HEADROOM  # 20,480 bytes


def test_deployed_code__every_contract__keeps_4kb_under_eip_170(system, project, owner, chain):
    sizes = code_sizes(project, system, chain.provider, owner)
    print(sizes)
    assert len(sizes) == 8 and all(size > 0 for size in sizes.values()), sizes
    assert {name: size for name, size in sizes.items() if size > LIMIT} == {}, sizes
