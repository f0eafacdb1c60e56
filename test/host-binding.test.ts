import { describe, expect, it } from "vitest";
import { anyBindingAllows, parseHostPattern } from "../core/host-binding";

const allows = (binding: string, url: string) => anyBindingAllows([binding], new URL(url));

describe("host bindings", () => {
  it("match an exact host on https:443 only by default", () => {
    expect(allows("api.x.com", "https://api.x.com/v1")).toBe(true);
    expect(allows("api.x.com", "https://API.X.COM./v1")).toBe(true);
    expect(allows("api.x.com", "http://api.x.com/v1")).toBe(false);
    expect(allows("api.x.com", "https://api.x.com:8443/v1")).toBe(false);
  });

  it("refuse lookalikes: suffixes, userinfo tricks, IP literals", () => {
    expect(allows("api.x.com", "https://api.x.com.evil.com/")).toBe(false);
    expect(allows("api.x.com", "https://api.x.com@evil.com/")).toBe(false);
    expect(allows("api.x.com", "https://evil.com/api.x.com")).toBe(false);
    expect(allows("*.x.com", "https://1.2.3.4/")).toBe(false);
    expect(allows("api.x.com", "https://[::1]/")).toBe(false);
  });

  it("anchor wildcards at a label boundary, and never match the bare domain", () => {
    expect(allows("*.x.com", "https://a.x.com/")).toBe(true);
    expect(allows("*.x.com", "https://a.b.x.com/")).toBe(true);
    expect(allows("*.x.com", "https://x.com/")).toBe(false);
    expect(allows("*.x.com", "https://evilx.com/")).toBe(false);
  });

  it("compare IDNs in punycode", () => {
    expect(allows("bücher.example", "https://xn--bcher-kva.example/")).toBe(true);
    expect(allows("xn--bcher-kva.example", "https://bücher.example/")).toBe(true);
  });

  it("name plain http and ports explicitly", () => {
    expect(allows("http://127.0.0.1:8080", "http://127.0.0.1:8080/x")).toBe(true);
    expect(allows("http://127.0.0.1:8080", "http://127.0.0.1:8081/x")).toBe(false);
    expect(allows("http://127.0.0.1:8080", "https://127.0.0.1:8080/x")).toBe(false);
  });

  it("explain what is wrong with a malformed binding", () => {
    expect(parseHostPattern("https://a.example/path")).toMatch(/not a host pattern/);
    expect(parseHostPattern("a.example:99999")).toMatch(/port/);
    expect(parseHostPattern("ftp://a.example")).toMatch(/not a host pattern/);
    expect(parseHostPattern("*.*.example")).toMatch(/not a host pattern/);
    expect(parseHostPattern("user@a.example")).toMatch(/not a host pattern/);
  });
});
