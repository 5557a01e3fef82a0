"""Every deployable keeps at least 4 KB of headroom under EIP-170, measured as deployed (runtime code plus the
immutables appended to it) with `eth_getCode` on the node, whatever the local node itself enforces.
"""

EIP_170 = 24_576
HEADROOM = 4_096
LIMIT = EIP_170 - HEADROOM  # 20,480 bytes


def test_deployed_code__every_contract__keeps_4kb_under_eip_170(system, project, owner, chain):
    auction = system.auction or project.DutchAuction.deploy(
        system.base, system.oracle, system.engine, system.vault, system.engine, sender=owner
    )
    contracts = {
        "PriceOracle": system.oracle.address,
        "LendingVault": system.vault.address,
        "KinkedRateModel": system.vault.rate_model(),
        "LiquidationQueue": system.queue.address,
        "LiquidationEngine": system.engine.address,
        "LiquidationLens": system.lens.address,
        "DutchAuction": auction.address,
    }
    sizes = {name: len(chain.provider.get_code(address)) for name, address in contracts.items()}
    assert all(size > 0 for size in sizes.values()), sizes
    assert {name: size for name, size in sizes.items() if size > LIMIT} == {}, sizes
