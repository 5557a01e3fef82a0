"""Every deployable fits the EIP-170 limit on mainnet, whatever the local node enforces.

The vault is close to it: a change that adds code to it must first move code out (see SECURITY.md).
"""

EIP_170 = 24_576


def test_deployed_code__every_contract__fits_eip_170(system, chain):
    addresses = [c.address for c in (system.oracle, system.vault, system.queue, system.engine)]
    addresses.append(system.vault.rate_model())
    for address in addresses:
        size = len(chain.provider.get_code(address))
        assert 0 < size <= EIP_170, f"{address}: {size} bytes"
