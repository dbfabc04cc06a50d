def test_login_and_home(client, auth, demo):
    r = auth.login("director1")
    assert r.status_code == 302
    html = client.get("/").get_data(as_text=True)
    assert "张三" in html
