// SPDX-License-Identifier: Apache-2.0
// The tests' Safe-compatible contract wallet: the two views the ownership check reads
// (getOwners() 0xa0e67e2b, getThreshold() 0xe75235b8), as Safe{Wallet} contracts answer them, and
// a reset the tests call to change owners after a snapshot block. Compiled in the tests by solc-js.
pragma solidity ^0.8.20;

contract TestSafe {
    address[] private owners;
    uint256 private threshold;

    constructor(address[] memory initialOwners, uint256 initialThreshold) {
        owners = initialOwners;
        threshold = initialThreshold;
    }

    function getOwners() external view returns (address[] memory) {
        return owners;
    }

    function getThreshold() external view returns (uint256) {
        return threshold;
    }

    function reset(address[] calldata newOwners, uint256 newThreshold) external {
        owners = newOwners;
        threshold = newThreshold;
    }

    receive() external payable {}
}
