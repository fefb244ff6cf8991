import { expect, test } from "vitest";
import { describeVerifyFailure } from "./git-verify.ts";

// What git verify-commit said (ssh-keygen's lines), as the clause after "is not signed by an allowed signer: ".

test("no output is an unsigned commit", () => {
  expect(describeVerifyFailure([])).toBe("it has no signature");
});

test("a good signature by a key not in the file is not an allowed signer", () => {
  expect(describeVerifyFailure(['Good "git" signature with ED25519 key SHA256:BWVX…', "No principal matched."])).toBe("its key is not in the allowed signers file");
});

test("an unreadable signers file, a bad signature, a timeout", () => {
  expect(describeVerifyFailure(['Unable to open allowed keys file "/x": No such file or directory', "No principal matched."])).toBe("the allowed signers file cannot be read");
  expect(describeVerifyFailure(['Unable to open allowed keys file "/x": No such file or directory'])).toBe("the allowed signers file cannot be read");
  expect(describeVerifyFailure(["Signature verification failed: incorrect signature"])).toBe("the signature does not match the commit");
  expect(describeVerifyFailure([], true)).toBe("the verification timed out");
});
